package dev.jfast.agent;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * What the program prints on a terminal before its ready point, recorded so
 * that restored runs can print it again (jfast/sandbox/replay.py). jfast's relays
 * record pipes and files; a terminal must stay the program's own, so here
 * {@code System.out} and {@code System.err} write through to it and keep a
 * copy in memory, framed as jfast reads it: one byte for the fd, a
 * little-endian 32-bit length, the bytes. Before each dump the copy so far
 * is written to jfast's file, which is closed again at once (an open file in
 * the image would have to exist at every restore). A restored run records
 * nothing. Past the limit the copy is dropped and the file says so (fd 255).
 */
final class EarlyOutput extends OutputStream {

    private static final int LIMIT = 1 << 20;     // as jfast/sandbox/replay.py
    private static final int OVERFLOW = 255;
    private static String path;
    private static ByteArrayOutputStream copy;
    private static boolean overflow;
    private static volatile boolean recording;

    private final OutputStream real;
    private final int fd;

    private EarlyOutput(OutputStream real, int fd) {
        this.real = real;
        this.fd = fd;
    }

    /** Tee the streams named in {@code fds} ("1", "2" or "12") into {@code path}. */
    static void install(String file, String fds) {
        path = file;
        copy = new ByteArrayOutputStream(1024);
        recording = true;
        if (fds.indexOf('1') >= 0) {
            System.setOut(stream(new FileOutputStream(FileDescriptor.out), 1, "sun.stdout.encoding"));
        }
        if (fds.indexOf('2') >= 0) {
            System.setErr(stream(new FileOutputStream(FileDescriptor.err), 2, "sun.stderr.encoding"));
        }
    }

    /** The stream as the JDK builds System.out/err: a 128-byte buffer, autoflush. */
    private static PrintStream stream(FileOutputStream fos, int fd, String encodingProperty) {
        OutputStream out = new BufferedOutputStream(new EarlyOutput(fos, fd), 128);
        String enc = System.getProperty(encodingProperty);
        if (enc != null) {
            try {
                return new PrintStream(out, true, Charset.forName(enc).name());
            } catch (Exception e) {
                // fall through to the default charset, as the JDK does
            }
        }
        return new PrintStream(out, true);
    }

    /** Before a dump: hand jfast the copy so far, leaving no file open. */
    static synchronized void save() {
        if (path == null || !recording && !overflow) {
            return;
        }
        try (FileOutputStream out = new FileOutputStream(path)) {
            if (overflow) {
                out.write(new byte[] {(byte) OVERFLOW, 0, 0, 0, 0});
            } else {
                copy.writeTo(out);
            }
        } catch (IOException e) {
            Agent.log("cannot save early output: " + e);
        }
    }

    /** A restored run: its output is its own. */
    static synchronized void stop() {
        recording = false;
        copy = null;
        path = null;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        real.write(b, off, len);
        if (recording) {
            record(fd, b, off, len);
        }
    }

    @Override
    public void flush() throws IOException {
        real.flush();
    }

    private static synchronized void record(int fd, byte[] b, int off, int len) {
        if (!recording) {
            return;
        }
        if (copy.size() + 5 + len > LIMIT) {
            recording = false;
            overflow = true;
            copy = null;
            return;
        }
        copy.write(fd);
        copy.write(len);
        copy.write(len >>> 8);
        copy.write(len >>> 16);
        copy.write(len >>> 24);
        copy.write(b, off, len);
    }
}
