package dev.jfast.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;

/**
 * Just enough JSON to read the line jfast sends with {@code restored}:
 * objects, arrays, strings, numbers, true, false and null. Objects become
 * LinkedHashMaps, arrays ArrayLists, numbers Strings of their text.
 */
final class Json {

    private final String s;
    private int pos;

    private Json(String s) {
        this.s = s;
    }

    /** The value in {@code text}; throws IllegalArgumentException on bad input. */
    static Object parse(String text) {
        Json p = new Json(text);
        Object v = p.value();
        p.space();
        if (p.pos != p.s.length()) {
            throw p.bad("trailing text");
        }
        return v;
    }

    private IllegalArgumentException bad(String why) {
        return new IllegalArgumentException(why + " at " + pos);
    }

    private void space() {
        while (pos < s.length() && s.charAt(pos) <= ' ') {
            pos++;
        }
    }

    private Object value() {
        space();
        if (pos >= s.length()) {
            throw bad("unexpected end");
        }
        char c = s.charAt(pos);
        if (c == '{') {
            return object();
        } else if (c == '[') {
            return array();
        } else if (c == '"') {
            return string();
        } else if (s.startsWith("true", pos)) {
            pos += 4;
            return Boolean.TRUE;
        } else if (s.startsWith("false", pos)) {
            pos += 5;
            return Boolean.FALSE;
        } else if (s.startsWith("null", pos)) {
            pos += 4;
            return null;
        }
        int start = pos;
        while (pos < s.length() && "+-.0123456789eE".indexOf(s.charAt(pos)) >= 0) {
            pos++;
        }
        if (start == pos) {
            throw bad("unexpected character");
        }
        return s.substring(start, pos);
    }

    private LinkedHashMap<String, Object> object() {
        LinkedHashMap<String, Object> m = new LinkedHashMap<String, Object>();
        pos++;
        space();
        if (pos < s.length() && s.charAt(pos) == '}') {
            pos++;
            return m;
        }
        for (;;) {
            space();
            if (pos >= s.length() || s.charAt(pos) != '"') {
                throw bad("expected a key");
            }
            String key = string();
            space();
            expect(':');
            m.put(key, value());
            space();
            if (pos < s.length() && s.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect('}');
            return m;
        }
    }

    private ArrayList<Object> array() {
        ArrayList<Object> a = new ArrayList<Object>();
        pos++;
        space();
        if (pos < s.length() && s.charAt(pos) == ']') {
            pos++;
            return a;
        }
        for (;;) {
            a.add(value());
            space();
            if (pos < s.length() && s.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect(']');
            return a;
        }
    }

    private void expect(char c) {
        if (pos >= s.length() || s.charAt(pos) != c) {
            throw bad("expected '" + c + "'");
        }
        pos++;
    }

    private String string() {
        pos++;
        StringBuilder b = new StringBuilder();
        for (;;) {
            if (pos >= s.length()) {
                throw bad("unterminated string");
            }
            char c = s.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= s.length()) {
                throw bad("unterminated escape");
            }
            char e = s.charAt(pos++);
            switch (e) {
                case 'n': b.append('\n'); break;
                case 't': b.append('\t'); break;
                case 'r': b.append('\r'); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                case 'u':
                    if (pos + 4 > s.length()) {
                        throw bad("short \\u escape");
                    }
                    b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                    pos += 4;
                    break;
                default: b.append(e);
            }
        }
    }
}
