package dev.jfast.agent;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The jfast Java agent. jfast starts the JVM with
 * {@code -agentpath:libjfast.so=agent.jar,OPTIONS [JVM options...]}: the
 * native library (jfast_native.c) adds the jar to the class path when the VM
 * has started and calls {@link #nativeStart}. OPTIONS are
 * {@code ev=<fd>,cmd=<fd>,native=<path>[,ready=<mode>][,preload=<path>]
 * [,record=<path>][,listen=1][,writes=<path>][,hide=<n>][,tee=<path>,teefds=<12>]
 * [,verbose=1]}.
 *
 * <ul>
 * <li>{@code ev}: an inherited pipe fd the agent writes events to
 *     ({@code ready main [<ms>]}, {@code ready explicit}, {@code prepared ...},
 *     {@code resumed ...}); a main event carries how long preloading took,
 *     when there was a list.</li>
 * <li>{@code cmd}: an inherited pipe fd the agent reads commands from
 *     ({@code go}, {@code gc}, {@code restored <json>}).</li>
 * <li>{@code native}: the native library's path.</li>
 * <li>{@code ready}: auto (default), main, explicit, call:CLASS.METHOD,
 *     socket, stdin or window. call: stops at the first call of that method
 *     (the native library sets the breakpoint, jfast_call.c).
 *     main stops before the program's main, and so does auto when there is a
 *     preload list (a main-entry checkpoint without one saves no more than
 *     the JVM's boot, which a restore costs too); auto and explicit stop in
 *     {@code dev.jfast.Jfast.ready()}. The other modes are detected by jfast
 *     itself, so the agent stops nowhere; unknown modes behave the same.</li>
 * <li>{@code preload}: a file of binary class names, one a line, loaded and
 *     linked (verified), not initialized, through the system class loader
 *     before main.</li>
 * <li>{@code record}: at exit of a cold (not restored) run, the classes the
 *     boot, platform and system loaders hold are written there.</li>
 * <li>{@code listen=1}: jfast put the native library first in LD_PRELOAD:
 *     under auto and socket, a TCP server's first wait for a connection is
 *     a ready point ({@code ready socket}), before it accepts any; under any
 *     mode, a listen on a port the kernel chose ends checkpoints
 *     ({@code refuse <reason>}). The program's environment loses that
 *     LD_PRELOAD entry.</li>
 * <li>{@code writes}: read by the native library alone (jfast_writes.c): the
 *     log of the files the program opens for writing.</li>
 * <li>{@code hide}: how many JVM options jfast put after its -agentpath;
 *     with it, they leave the program's RuntimeMXBean.getInputArguments().</li>
 * <li>{@code tee}, {@code teefds}: System.out (1) and/or System.err (2), on a
 *     terminal, are copied into that file until the dump ({@link EarlyOutput}).</li>
 * <li>{@code verbose=1}: jfast runs with JFAST_VERBOSE.</li>
 * </ul>
 *
 * <p>Values cannot contain commas. Without usable ev and cmd fds the agent
 * does nothing at all. It never throws and prints nothing unless verbose
 * (the option, or the system property {@code JFAST_VERBOSE=1}). It sets no
 * system property: the program sees the properties java would give it.
 *
 * <p>This runs in every JVM jfast starts, so it is kept cheap on purpose:
 * no lambdas, streams, regex or formatting, and few classes.
 */
public final class Agent {

    private static volatile boolean verbose;
    private static boolean mainPoint;
    private static boolean explicitPoint;
    private static boolean socketPoint;

    private static volatile boolean active;
    private static volatile boolean restored;
    private static volatile String restoredInfo;
    /** Set once the after-restore hooks have run; guarded by RESTORE_HOOKS. */
    private static boolean resumed;

    private static final ArrayList<Runnable> RESTORE_HOOKS = new ArrayList<Runnable>();

    private Agent() {
    }

    /**
     * Entry point, called by the native library when the VM has started with
     * its whole option text ({@code agent.jar,OPTIONS}); {@code bound} says
     * whether it could bind class Native's methods. Never throws.
     */
    public static void nativeStart(String all, boolean bound) {
        try {
            Native.bound(bound);
            start(all);
        } catch (Throwable t) {
            log("agent disabled: " + t);
        }
    }

    private static void start(String all) {
        verbose = isVerbose();
        int jarEnd = all.indexOf(',');
        String args = all.substring(jarEnd + 1);
        String ev = null;
        String cmd = null;
        String mode = "auto";
        String preload = null;
        String record = null;
        String tee = null;
        String teeFds = "";
        String nativeLib = null;
        boolean listen = false;
        int hide = -1;
        StringBuilder ignored = new StringBuilder();
        if (args != null) {
            int pos = 0;
            int n = args.length();
            while (pos <= n) {
                int comma = args.indexOf(',', pos);
                if (comma < 0) {
                    comma = n;
                }
                String item = args.substring(pos, comma);
                pos = comma + 1;
                int eq = item.indexOf('=');
                if (eq <= 0) {
                    continue;
                }
                String key = item.substring(0, eq).trim();
                String value = item.substring(eq + 1).trim();
                if (key.equals("ev")) {
                    ev = value;
                } else if (key.equals("cmd")) {
                    cmd = value;
                } else if (key.equals("ready")) {
                    mode = value;
                } else if (key.equals("preload")) {
                    preload = value;
                } else if (key.equals("record")) {
                    record = value;
                } else if (key.equals("native")) {
                    nativeLib = value;
                } else if (key.equals("listen")) {
                    listen = value.equals("1");
                } else if (key.equals("tee")) {
                    tee = value;
                } else if (key.equals("hide")) {
                    hide = parseFd(value);
                } else if (key.equals("teefds")) {
                    teeFds = value;
                } else if (key.equals("verbose")) {
                    verbose = verbose || value.equals("1");
                } else if (!key.equals("writes")) {      // the native library's alone
                    ignored.append(' ').append(key);
                }
            }
        }
        if (ignored.length() > 0) {
            log("ignoring agent options" + ignored);
        }
        int evFd = parseFd(ev);
        int cmdFd = parseFd(cmd);
        if (evFd < 0 || cmdFd < 0) {
            log("no usable ev/cmd fds; agent inactive");
            return;
        }
        FileInputStream in;
        FileOutputStream out;
        try {
            in = new FileInputStream("/proc/self/fd/" + cmdFd);
        } catch (Throwable t) {
            log("cannot open cmd fd " + cmdFd + ": " + t + "; agent inactive");
            return;
        }
        try {
            // append mode: never truncates, should the fd not be the pipe
            out = new FileOutputStream("/proc/self/fd/" + evFd, true);
        } catch (Throwable t) {
            log("cannot open ev fd " + evFd + ": " + t + "; agent inactive");
            try {
                in.close();
            } catch (IOException e) {
                // nothing to do
            }
            return;
        }
        explicitPoint = mode.equals("auto") || mode.equals("explicit");
        socketPoint = mode.equals("auto") || mode.equals("socket");

        if (tee != null && tee.length() > 0) {
            EarlyOutput.install(tee, teeFds);
        }
        ReadyPoint.init(out);
        if (hide >= 0 && nativeLib != null) {
            // the program lists its own options, as under java
            int hidden = Native.hideOptions("-agentpath:" + nativeLib + "=" + all, hide);
            log("hid " + hidden + " of jfast's JVM options");
        }
        if (listen && Native.loaded()) {
            watchListen(nativeLib);
        }
        EnvReads.install();         // after watchListen: it copies the environment
        Control control = new Control(in, "/proc/self/fd/" + cmdFd);
        control.start();
        Runtime.getRuntime().addShutdownHook(
                new ExitHook(control, record != null && record.length() > 0 ? record : null));
        long preloadMs = preload != null && preload.length() > 0 ? preload(preload) : -1;
        mainPoint = mode.equals("main") || (mode.equals("auto") && preloadMs >= 0);
        active = true;
        log("active, ready=" + mode);
        if (mainPoint) {
            long t0 = System.nanoTime();
            boolean released = ReadyPoint.trigger(preloadMs >= 0 ? "main " + preloadMs : "main");
            log("main ready point passed (" + (released ? "released" : "jfast gone")
                    + ") after " + ((System.nanoTime() - t0) / 1000000L) + " ms");
        }
    }

    /**
     * Arms the native listen(2) of the library at {@code lib} (preloaded by
     * jfast) and takes it out of LD_PRELOAD, so the program and its children
     * see the environment they would under java.
     */
    private static void watchListen(String lib) {
        Native.armListen(socketPoint);
        if (Native.dropPreload(lib)) {
            return;             // before Java read the environment: nothing else to do
        }
        log("the environment was read before the agent: updating Java's copy");
        Internals.open();       // FreshRun updates it through JDK internals
        Map<String, String> env = new HashMap<String, String>(System.getenv());
        String value = env.get("LD_PRELOAD");
        if (value != null && value.startsWith(lib)) {
            String rest = value.substring(lib.length());
            rest = rest.startsWith(":") ? rest.substring(1) : rest;
            if (rest.length() == 0) {
                env.remove("LD_PRELOAD");
            } else {
                env.put("LD_PRELOAD", rest);
            }
            FreshRun.environment(env, new java.util.ArrayList<String>());
        }
    }

    /**
     * The program is about to listen on a port the kernel chose
     * (Native.kernelPortListen). A restore would bring it back on that port,
     * which a copy restored beside a running one could not have: no
     * checkpoint from now on (the cold run's own, already made, are fine).
     */
    static void kernelPort(int port) {
        if (!restored) {
            ReadyPoint.send("refuse the program listens on "
                    + (port > 0 ? "port " + port + ", which" : "a port")
                    + " the kernel chose; a restored copy could not have it beside another");
        }
    }

    /** The program is about to wait for its first connection (Native.beforeWait). */
    static void socketReady() {
        if (restored || !socketPoint) {
            return;
        }
        ReadyPoint.trigger("socket");
    }

    /** A small non-negative decimal fd number, or -1. */
    private static int parseFd(String s) {
        if (s == null || s.length() == 0 || s.length() > 9) {
            return -1;
        }
        int v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** Loads the listed classes; how many ms that took, or -1 without a list. */
    private static long preload(String path) {
        long t0 = System.nanoTime();
        byte[] data;
        try {
            FileInputStream f = new FileInputStream(path);
            try {
                data = f.readAllBytes();
            } finally {
                f.close();
            }
        } catch (Throwable t) {
            log("no preload list: " + t);
            return -1;
        }
        ClassLoader loader = ClassLoader.getSystemClassLoader();
        int loaded = 0;
        int failed = 0;
        int start = 0;
        int n = data.length;
        for (int i = 0; i <= n; i++) {
            if (i == n || data[i] == '\n') {
                String name = new String(data, start, i - start, StandardCharsets.UTF_8).trim();
                start = i + 1;
                if (name.length() == 0) {
                    continue;
                }
                try {
                    // Asking for its constructors makes HotSpot link the class:
                    // verification, the costly part for older class files, is
                    // then in the image too. No code of the program runs.
                    Class.forName(name, false, loader).getDeclaredConstructors();
                    loaded++;
                } catch (Throwable t) {
                    failed++;
                }
            }
        }
        long ms = (System.nanoTime() - t0) / 1000000L;
        log("preloaded " + loaded + " classes (" + failed + " failed) in " + ms + " ms");
        return ms;
    }

    /**
     * Called on the control thread when jfast says the process was restored:
     * the restoring run's state is applied and checked, then the
     * after-restore hooks run. Returns what could not be applied; then no
     * hook runs and jfast ends this process before any program thread goes on.
     */
    static List<String> restoredNow(String info) {
        Runnable[] hooks;
        synchronized (RESTORE_HOOKS) {
            resumed = false;
            hooks = RESTORE_HOOKS.toArray(new Runnable[RESTORE_HOOKS.size()]);
        }
        restoredInfo = info;
        restored = true;
        EnvReads.stop();            // what this run reads is its own
        // The image remembers the cold run's setting; the restoring run decides.
        verbose = info != null && info.indexOf("\"JFAST_VERBOSE\": \"1\"") >= 0;
        List<String> failed;
        try {
            // The caller's environment, directory and fresh randomness come
            // before any hook, so hooks (org.crac resources) already see them.
            failed = FreshRun.apply(info);
        } catch (Throwable t) {
            failed = new java.util.ArrayList<String>();
            failed.add("the restoring run's state (" + t + ")");
        }
        if (!failed.isEmpty()) {
            log("cannot make this restore faithful: " + failed);
            return failed;
        }
        try {
            for (int i = 0; i < hooks.length; i++) {
                try {
                    hooks[i].run();
                } catch (Throwable t) {
                    log("after-restore hook failed: " + t);
                }
            }
        } finally {
            synchronized (RESTORE_HOOKS) {
                resumed = true;
                RESTORE_HOOKS.notifyAll();
            }
        }
        return failed;
    }

    /**
     * In a restored process, waits until the after-restore hooks have run, so
     * that no program thread gets past a ready point before them.
     */
    static void awaitResumed() {
        boolean interrupted = false;
        synchronized (RESTORE_HOOKS) {
            while (!resumed) {
                try {
                    RESTORE_HOOKS.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Registers a callback run on the control thread each time this process
     * is restored from a checkpoint, before the threads waiting at the ready
     * point are released. Callbacks run in registration order; exceptions are
     * swallowed. They must not block for long: every thread at a ready point
     * waits for them (ready points called from a callback return at once).
     */
    public static void onRestore(Runnable hook) {
        if (hook == null) {
            return;
        }
        synchronized (RESTORE_HOOKS) {
            RESTORE_HOOKS.add(hook);
        }
    }

    /** True once the agent has started in this JVM (jfast runs it). */
    public static boolean active() {
        return active;
    }

    /** True once this process has been restored from a checkpoint. */
    public static boolean isRestored() {
        return restored;
    }

    /**
     * The raw JSON text jfast sent with {@code restored}, or null when this
     * process was not restored.
     */
    public static String restoredInfo() {
        return restoredInfo;
    }

    /** True when {@code Jfast.ready()} may stop (ready=auto or explicit). */
    static boolean explicitEnabled() {
        return explicitPoint;
    }

    /** One diagnostic line, only with JFAST_VERBOSE=1: jfast shows it on its stderr. */
    static void log(String msg) {
        // Through jfast, which prints it on its own stderr: written on the
        // program's, the line would be recorded with its early output and
        // replayed by every restore.
        if (verbose && !ReadyPoint.send("log " + msg.replace('\n', ' '))) {
            System.err.println("jfast-agent: " + msg);
        }
    }

    /**
     * -DJFAST_VERBOSE=1; jfast passes its own JFAST_VERBOSE as the verbose
     * option. Not System.getenv: that would copy the C environment before
     * watchListen takes jfast's library out of it.
     */
    private static boolean isVerbose() {
        try {
            return "1".equals(System.getProperty("JFAST_VERBOSE"));
        } catch (Throwable t) {
            return false;
        }
    }

    private static final ReadyPoint EXPLICIT = new ReadyPoint("explicit");

    /** The explicit ready point; {@code dev.jfast.Jfast.ready()} calls it by name. */
    public static void explicitReady() {
        if (!explicitPoint || Thread.currentThread() instanceof Control) {
            return;
        }
        if (restored) {
            awaitResumed();
            return;
        }
        EXPLICIT.once();
    }

    private static final ReadyPoint CALL = new ReadyPoint("call");

    /**
     * The ready point {@code call:CLASS.METHOD}: the native library's
     * breakpoint at the first call of that method calls it (jfast_call.c).
     */
    static void callReady() {
        if (!active || restored || Thread.currentThread() instanceof Control) {
            return;
        }
        CALL.once();
    }

    /**
     * Shutdown hook: stops the control thread (see {@link Control#shutdown()})
     * and, in a cold run with {@code record} set, writes the loaded-class list.
     */
    static final class ExitHook extends Thread {
        private final Control control;
        private final String path;
        ExitHook(Control control, String path) {
            super("jfast-exit");
            this.control = control;
            this.path = path;
        }

        @Override
        public void run() {
            control.shutdown();
            if (path == null || restored || !Native.loaded()) {
                return;
            }
            try {
                write();
            } catch (Throwable t) {
                log("cannot record classes: " + t);
            }
        }

        private void write() throws IOException {
            Class<?>[] all = Native.loadedClasses();
            if (all == null) {
                return;
            }
            ClassLoader system = ClassLoader.getSystemClassLoader();
            ClassLoader platform = ClassLoader.getPlatformClassLoader();
            String[] names = new String[all.length];
            int count = 0;
            for (int i = 0; i < all.length; i++) {
                Class<?> c = all[i];
                if (c.isArray() || c.isPrimitive()) {
                    continue;
                }
                ClassLoader cl;
                try {
                    cl = c.getClassLoader();
                } catch (SecurityException e) {
                    continue;
                }
                if (cl != null && cl != system && cl != platform) {
                    continue;
                }
                String name = c.getName();
                if (name.indexOf('/') >= 0 || name.indexOf("$$Lambda") >= 0
                        || name.startsWith("dev.jfast.")) {
                    continue;
                }
                names[count++] = name;
            }
            java.util.Arrays.sort(names, 0, count);
            StringBuilder sb = new StringBuilder(count * 40);
            for (int i = 0; i < count; i++) {
                sb.append(names[i]).append('\n');
            }
            // A temporary file of our own (cold runs of one program may exit at
            // once), 0600 like every file in jfast's cache. java.io only:
            // java.nio.file's temporary files load SecureRandom and its
            // providers, some 180 classes and 30 ms at a small program's exit.
            File target = new File(path);
            File tmp;
            do {
                tmp = new File(target.getParentFile(),
                        target.getName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
            } while (!tmp.createNewFile());
            boolean done = false;
            try {
                boolean mode = tmp.setReadable(false, false) && tmp.setWritable(false, false)
                        && tmp.setReadable(true, true) && tmp.setWritable(true, true);
                if (!mode) {
                    throw new IOException("cannot make " + tmp + " private");
                }
                FileOutputStream out = new FileOutputStream(tmp);
                try {
                    out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
                } finally {
                    out.close();
                }
                done = tmp.renameTo(target);
                if (!done) {
                    throw new IOException("cannot rename " + tmp + " to " + target);
                }
            } finally {
                if (!done) {
                    tmp.delete();
                }
            }
            log("recorded " + count + " classes to " + path);
        }
    }
}
