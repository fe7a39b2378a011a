package dev.jfast.agent;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.nio.charset.StandardCharsets;

/**
 * The {@code jfast-control} daemon thread: reads command lines from jfast
 * until EOF. {@code go} releases the current ready point; {@code restored
 * <json>} marks the process as restored, runs the after-restore hooks and
 * then releases. EOF or an I/O error closes the channel, which releases every
 * waiter for good. Unknown lines are ignored.
 */
final class Control extends Thread {

    private final InputStream in;
    private final String path;
    private final Instrumentation inst;
    private volatile boolean stopping;

    /**
     * Reads {@code in}, which was opened from {@code path} (/proc/self/fd/N),
     * after opening the JDK internals (with {@code inst} under -javaagent):
     * commands come in order, so the opens are done before any dump.
     */
    Control(InputStream in, String path, Instrumentation inst) {
        super("jfast-control");
        this.in = in;
        this.path = path;
        this.inst = inst;
        setDaemon(true);
    }

    /**
     * Ends the read loop at JVM exit. HotSpot's final exit operation waits up
     * to 300 ms for threads that are inside native code (this thread, blocked
     * in read(2)) before it gives up, so a reader left blocked would add
     * 300 ms to every exit. Closing the stream does not wake a blocked read
     * on Linux; writing one byte into the same pipe through a fresh write end
     * does, and the loop sees {@code stopping} and returns. The write end is
     * opened only here: holding one earlier would hide jfast's EOF.
     */
    void shutdown() {
        if (!isAlive()) {
            return;
        }
        stopping = true;
        try {
            // append mode: O_APPEND instead of O_TRUNC, harmless on a pipe
            FileOutputStream w = new FileOutputStream(path, true);
            try {
                w.write('\n');
            } finally {
                w.close();
            }
            join(200);
        } catch (Throwable t) {
            Agent.log("cannot stop control thread: " + t);
        }
    }

    @Override
    public void run() {
        Internals.open(inst);
        FreshRun.prepare();     // before any command, so before any dump
        try {
            byte[] buf = new byte[1024];
            int len = 0;
            for (;;) {
                if (len == buf.length) {
                    byte[] bigger = new byte[buf.length * 2];
                    System.arraycopy(buf, 0, bigger, 0, len);
                    buf = bigger;
                }
                int n = in.read(buf, len, buf.length - len);
                if (stopping) {
                    return;
                }
                if (n < 0) {
                    Agent.log("command pipe closed");
                    break;
                }
                int end = len + n;
                int start = 0;
                for (int i = len; i < end; i++) {
                    if (buf[i] == '\n') {
                        handle(new String(buf, start, i - start, StandardCharsets.UTF_8));
                        start = i + 1;
                    }
                }
                len = end - start;
                if (start > 0 && len > 0) {
                    System.arraycopy(buf, start, buf, 0, len);
                }
            }
        } catch (IOException e) {
            Agent.log("command pipe failed: " + e);
        } catch (Throwable t) {
            Agent.log("control thread failed: " + t);
        } finally {
            ReadyPoint.close();
            try {
                in.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    private static void handle(String line) {
        int cut = line.length();
        if (cut > 0 && line.charAt(cut - 1) == '\r') {
            line = line.substring(0, cut - 1);
        }
        if (line.equals("go")) {
            Agent.log("go");
            ReadyPoint.release();
        } else if (line.equals("restored") || line.startsWith("restored ")) {
            String info = line.length() > 9 ? line.substring(9) : "";
            EarlyOutput.stop();
            Agent.restoredNow(info);          // sets verbose as the restoring run wants
            Agent.log("restored");
            ReadyPoint.release();
        } else if (line.equals("gc")) {
            // Before a dump: what was printed so far goes to jfast, and a
            // smaller process is a smaller, faster image.
            EarlyOutput.save();
            HeapTrim.run();
            ReadyPoint.send("gc done");
        } else if (line.length() > 0) {
            Agent.log("ignoring command: " + line);
        }
    }
}
