package dev.jfast.agent;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * Makes the process small just before a dump: every resident page is
 * written into the image and read back on every restore.
 *
 * A plain System.gc() leaves the heap at its committed size, full of pages
 * that held garbage. With the heap free ratios lowered for the duration of
 * one full collection, the collector gives back all but a sliver of free
 * heap; the ratios are then put back so the program's own tuning rules after
 * the ready point. G1 (JDK 16+) returns the memory to the kernel from a
 * background thread about 100 ms later, so the trim waits, bounded, until
 * the resident size stops falling.
 *
 * Then glibc's malloc arenas give back their free pages (malloc_trim
 * through the native helper): under 1 ms, 1-2 MiB less image for Jetty and
 * 4 MiB for the demo. The JVM's own System.trim_native_heap command does
 * the same, but reached through the platform MBean server it took 108 ms.
 */
final class HeapTrim {

    /** Longest wait for the collector's background uncommit, in ms. */
    private static final long UNCOMMIT_WAIT_MS = 400;
    /** Longest wait for it to begin: heap committed but never touched gives
     *  nothing back (the demo's began falling within 35 ms). */
    private static final long UNCOMMIT_START_MS = 100;
    private static final long POLL_MS = 5;
    /** Below this, waiting for the uncommit costs more than it saves. */
    private static final long MIN_WAIT_BYTES = 8L << 20;

    /** The diagnostics bean, once looked up (null if there is none). */
    private static HotSpotDiagnosticMXBean bean;
    private static boolean looked;

    private HeapTrim() {
    }

    static void run() {
        Runtime rt = Runtime.getRuntime();
        long t0 = System.nanoTime();
        long committed = rt.totalMemory();
        HotSpotDiagnosticMXBean hs = diagnostics();
        long t1 = System.nanoTime();
        String min = option(hs, "MinHeapFreeRatio");
        String max = option(hs, "MaxHeapFreeRatio");
        boolean lowered = min != null && max != null
                && set(hs, "MinHeapFreeRatio", "0") && set(hs, "MaxHeapFreeRatio", "1");
        long rss = residentPages();
        System.gc();
        if (lowered) {
            // Max first: Max may never drop below Min.
            set(hs, "MaxHeapFreeRatio", max);
            set(hs, "MinHeapFreeRatio", min);
        }
        long t2 = System.nanoTime();
        // Heap no longer committed: pages the collector's background thread
        // is about to hand back. (Measured from the heap in use before, as
        // it was, this missed free heap that was resident: the demo's 32 MiB
        // went back 60 ms after a dump that no longer waited on criu's start.)
        long released = committed - rt.totalMemory();
        if (released > MIN_WAIT_BYTES) {
            awaitUncommit(rss);
        }
        long t3 = System.nanoTime();
        long beforeMalloc = residentPages();
        int trimmed = Native.loaded() ? Native.trimMalloc() : -1;
        long mallocPages = trimmed < 0 ? 0 : beforeMalloc - residentPages();
        Agent.log("trim: setup " + (t1 - t0) / 1000000 + " ms, gc " + (t2 - t1) / 1000000
                + " ms, uncommit wait " + (t3 - t2) / 1000000 + " ms, released "
                + (released >> 20) + " MiB; malloc_trim " + (System.nanoTime() - t3) / 1000000
                + " ms, " + (trimmed < 0 ? "not run" : (mallocPages >> 8) + " MiB"));
    }

    /** Waits until the resident size has fallen and then held for two polls. */
    private static void awaitUncommit(long start) {
        long begun = System.nanoTime() + UNCOMMIT_START_MS * 1_000_000L;
        long deadline = System.nanoTime() + UNCOMMIT_WAIT_MS * 1_000_000L;
        long last = start;
        int steady = 0;
        boolean fell = false;
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = residentPages();
            if (now < 0) {
                return;
            }
            if (now < last) {
                fell = true;
                steady = 0;
            } else if ((fell && ++steady >= 2) || (!fell && System.nanoTime() > begun)) {
                return;
            }
            last = now;
        }
    }

    /**
     * The HotSpot diagnostics bean. Its first lookup loads the management
     * classes, 6-8 ms of the demo's pause when it came at the dump; the
     * control thread looks it up as the program starts instead.
     */
    static synchronized HotSpotDiagnosticMXBean diagnostics() {
        if (!looked) {
            looked = true;
            try {
                bean = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            } catch (Throwable t) {
                Agent.log("no HotSpot diagnostics: " + t);
            }
        }
        return bean;
    }

    private static String option(HotSpotDiagnosticMXBean hs, String name) {
        try {
            return hs == null ? null : hs.getVMOption(name).getValue();
        } catch (Throwable t) {
            return null;
        }
    }

    private static boolean set(HotSpotDiagnosticMXBean hs, String name, String value) {
        try {
            hs.setVMOption(name, value);
            return true;
        } catch (Throwable t) {
            Agent.log("cannot set " + name + ": " + t);
            return false;
        }
    }

    /** The process's resident pages, or -1 where /proc cannot tell. */
    private static long residentPages() {
        byte[] buf = new byte[128];
        try (FileInputStream in = new FileInputStream("/proc/self/statm")) {
            int n = in.read(buf);
            String[] cols = new String(buf, 0, Math.max(n, 0), "US-ASCII").trim().split(" ");
            return Long.parseLong(cols[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
