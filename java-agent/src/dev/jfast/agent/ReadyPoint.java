package dev.jfast.agent;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Ready points and the release mechanism shared by all of them.
 *
 * <p>A thread that reaches a ready point sends {@code ready <name>} on the
 * event pipe and blocks until jfast releases it ({@code go} or
 * {@code restored ...} on the command pipe, see {@link Control}), or until
 * the command pipe is gone. At most one ready event is outstanding at any
 * time: a second thread that triggers a point while another one waits first
 * waits for that release, so jfast never sees two unanswered events and a
 * {@code go} is never ambiguous.
 *
 * <p>Once the channel is closed (EOF or an error on either pipe) nothing ever
 * blocks again: the program must not hang because jfast went away.
 *
 * <p>Static methods are the raw mechanism (other ready sources such as a
 * {@code javax.crac} implementation call {@link #trigger(String)} directly);
 * an instance is a one-shot named point ({@link #once()}).
 */
public final class ReadyPoint {

    private static final Object LOCK = new Object();

    /** The event pipe, or null when the agent is inactive. Guarded by LOCK. */
    private static OutputStream events;
    /** Number of releases so far; a waiter waits for it to change. Guarded by LOCK. */
    private static long releases;
    /** True once jfast is gone: nothing blocks any more. Guarded by LOCK. */
    private static boolean closed;
    /** True while one ready event is unanswered. Guarded by LOCK. */
    private static boolean pending;

    private static final int IDLE = 0;
    private static final int WAITING = 1;
    private static final int PASSED = 2;

    private final String name;
    /** IDLE, WAITING or PASSED. Guarded by LOCK. */
    private int state;

    /** A one-shot point that sends {@code ready <name>}. */
    public ReadyPoint(String name) {
        this.name = name;
    }

    /** Connects the mechanism to the event pipe (called once by the agent). */
    static void init(OutputStream ev) {
        synchronized (LOCK) {
            events = ev;
        }
    }

    /** True while jfast is connected (events can be sent, waits can happen). */
    public static boolean connected() {
        synchronized (LOCK) {
            return events != null && !closed;
        }
    }

    /**
     * Sends one event line to jfast. Returns false (and closes the channel)
     * if the event pipe is unusable.
     */
    public static boolean send(String line) {
        OutputStream out;
        synchronized (LOCK) {
            if (events == null || closed) {
                return false;
            }
            out = events;
        }
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            synchronized (out) {
                out.write(bytes);
                out.flush();
            }
            return true;
        } catch (IOException e) {
            close();                       // first: log would send again
            Agent.log("event pipe failed: " + e);
            return false;
        }
    }

    /**
     * Sends {@code ready <name>} and blocks until the next release. Returns
     * true if this call was released by jfast, false if jfast is not there
     * (then it returns at once). Interrupts do not end the wait (the
     * checkpoint must complete); the interrupt status is restored on return.
     */
    public static boolean trigger(String name) {
        if (Thread.currentThread() instanceof Control) {
            // an after-restore hook must not wait for a release only the
            // control thread itself could deliver
            return false;
        }
        boolean interrupted = false;
        long seen;
        synchronized (LOCK) {
            while (pending && !closed) {
                try {
                    LOCK.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (events == null || closed) {
                restoreInterrupt(interrupted);
                return false;
            }
            pending = true;
            seen = releases;
        }
        boolean released = false;
        try {
            if (send("ready " + name)) {
                synchronized (LOCK) {
                    while (!closed && releases == seen) {
                        try {
                            LOCK.wait();
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                    released = releases != seen;
                }
            }
        } finally {
            synchronized (LOCK) {
                pending = false;
                LOCK.notifyAll();
            }
            restoreInterrupt(interrupted);
        }
        return released;
    }

    /** Releases the thread waiting at a ready point (jfast said go/restored). */
    public static void release() {
        synchronized (LOCK) {
            releases++;
            LOCK.notifyAll();
        }
    }

    /** jfast is gone: release every waiter now and never block again. */
    static void close() {
        synchronized (LOCK) {
            closed = true;
            LOCK.notifyAll();
        }
    }

    /**
     * Passes this one-shot point: the first caller triggers it and blocks
     * until released; callers arriving while it waits block for the same
     * release; callers arriving afterwards return at once.
     */
    public void once() {
        boolean interrupted = false;
        synchronized (LOCK) {
            if (state == PASSED) {
                return;
            }
            if (state == WAITING) {
                while (state == WAITING && !closed) {
                    try {
                        LOCK.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                restoreInterrupt(interrupted);
                return;
            }
            state = WAITING;
        }
        try {
            trigger(name);
        } finally {
            synchronized (LOCK) {
                state = PASSED;
                LOCK.notifyAll();
            }
        }
    }

    private static void restoreInterrupt(boolean interrupted) {
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
