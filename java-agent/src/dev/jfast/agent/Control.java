package dev.jfast.agent;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.nio.charset.StandardCharsets;

/**
 * The {@code jfast-control} daemon thread. It first finds the JDK internals
 * a restore updates and tells jfast whether it can ({@code prepared ok} or
 * {@code prepared missing: ...}: without ok jfast makes no checkpoint), then
 * reads command lines from jfast until EOF. {@code go} releases the current
 * ready point; {@code restored <json>} marks the process as restored, applies
 * and checks the restoring run's state and answers {@code resumed ok} (jfast
 * then replays the early output and says go) or {@code resumed failed: ...}
 * (jfast ends the process). EOF or an I/O error closes the channel, which
 * releases every waiter for good. Unknown lines are ignored.
 */
final class Control extends Thread {

    private final InputStream in;
    private final String path;
    private volatile boolean stopping;

    /**
     * Reads {@code in}, which was opened from {@code path} (/proc/self/fd/N),
     * after opening the JDK internals: commands come in order, so the opens
     * are done before any dump.
     */
    Control(InputStream in, String path) {
        super("jfast-control");
        this.in = in;
        this.path = path;
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
        Internals.open();
        List<String> missing = FreshRun.prepare();   // before any command, so before any dump
        if (!missing.isEmpty()) {
            Agent.log("a restore could not update on this JDK: " + missing);
        }
        ReadyPoint.send(missing.isEmpty() ? "prepared ok" : "prepared missing: " + join(missing));
        HeapTrim.diagnostics();                      // off the dump's pause (HeapTrim)
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
            List<String> failed = Agent.restoredNow(info);  // sets verbose as the run wants
            Agent.log(failed.isEmpty() ? "restored" : "restore not faithful");
            // jfast says go once it has replayed what the cold run printed
            ReadyPoint.send(failed.isEmpty() ? "resumed ok" : "resumed failed: " + join(failed));
        } else if (line.equals("gc")) {
            // Before a dump: what was printed so far goes to jfast, and a
            // smaller process is a smaller, faster image.
            EarlyOutput.save();
            HeapTrim.run();
            // What the checkpoint depends on: the variables read so far.
            ReadyPoint.send("env " + EnvReads.read());
            ReadyPoint.send("gc done");
        } else if (line.length() > 0) {
            Agent.log("ignoring command: " + line);
        }
    }

    /** Items for one event line: no newlines, "; " between them. */
    static String join(List<String> items) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            b.append(i == 0 ? "" : "; ").append(items.get(i).replace('\n', ' '));
        }
        return b.toString();
    }
}
