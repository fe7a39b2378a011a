package dev.jfast.agent;

import java.io.FileInputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fresh randomness for a restored process: every copy restored from one
 * checkpoint would otherwise continue the same random sequences. Reseeds
 * the generators the JDK keeps in static holders (those of Math.random,
 * new Random(), ThreadLocalRandom, SplittableRandom, Collections.shuffle,
 * UUID.randomUUID and the default SecureRandoms), and makes every thread
 * draw a new ThreadLocalRandom seed on its next use. Holders that were
 * never initialized are left alone: they seed themselves when first used.
 */
final class Reseed {

    private static final long GOLDEN = 0x9e3779b97f4a7c15L;

    private Reseed() {
    }

    // Static holders of generators, by class and field.
    private static final String[][] ATOMIC = {
        {"java.util.Random", "seedUniquifier"},
        {"java.util.concurrent.ThreadLocalRandom", "seeder"},
        {"java.util.SplittableRandom", "defaultGen"},
    };
    private static final String[][] RANDOM = {
        {"java.lang.Math$RandomNumberGeneratorHolder", "randomNumberGenerator"},
        {"java.lang.StrictMath$RandomNumberGeneratorHolder", "randomNumberGenerator"},
        {"java.util.Collections", "r"},
    };
    private static final String[][] SECURE = {
        {"java.util.UUID$Holder", "numberGenerator"},
        {"sun.security.jca.JCAUtil", "def"},
        {"sun.security.jca.JCAUtil$CachedSecureRandomHolder", "instance"},
        {"java.security.SecureRandom", "seedGenerator"},
    };
    private static final String[] SEEDER = {
        "sun.security.provider.SecureRandom$SeederHolder", "seeder",
    };
    private static final String[] NATIVE = {"sun.security.provider.NativePRNG", "INSTANCE"};
    private static final String[] THREAD_FIELDS = {
        "threadLocalRandomProbe", "threadLocalRandomSeed", "threadLocalRandomSecondarySeed",
    };
    private static final String[] NATIVE_IO_FIELDS = {"mixRandom", "LOCK_GET_BYTES", "buffered"};

    /**
     * Ahead of a restore (FreshRun.prepare): finds and reads once the fields
     * all() writes, of the holders already initialized. Changes nothing.
     */
    static void prepare() {
        String[][][] tables = {ATOMIC, RANDOM, SECURE, {SEEDER, NATIVE}};
        for (int t = 0; t < tables.length; t++) {
            for (int i = 0; i < tables[t].length; i++) {
                Internals.staticValue(tables[t][i][0], tables[t][i][1]);
            }
        }
        for (int i = 0; i < THREAD_FIELDS.length; i++) {
            Internals.get(Internals.field(Thread.class, THREAD_FIELDS[i]), Thread.currentThread());
        }
        Object io = Internals.staticValue(NATIVE[0], NATIVE[1]);
        for (int i = 0; io != null && i < NATIVE_IO_FIELDS.length; i++) {
            Internals.get(Internals.field(io.getClass(), NATIVE_IO_FIELDS[i]), io);
        }
    }

    static void all() {
        byte[] pool = entropy(256);
        int at = 0;
        for (int i = 0; i < ATOMIC.length; i++) {
            atomic(ATOMIC[i][0], ATOMIC[i][1], mix(pool, at++));
        }
        for (int i = 0; i < RANDOM.length; i++) {
            random(RANDOM[i][0], RANDOM[i][1], mix(pool, at++));
        }
        threadLocalSeeds();
        for (int i = 0; i < SECURE.length; i++) {
            Object r = Internals.staticValue(SECURE[i][0], SECURE[i][1]);
            if (r instanceof java.security.SecureRandom) {
                ((java.security.SecureRandom) r).setSeed(slice(pool, 64 + 16 * i, 16));
            }
        }
        spi(Internals.staticValue(SEEDER[0], SEEDER[1]), slice(pool, 160, 32));
        nativePrng(slice(pool, 192, 32));
    }

    /** Bytes from /dev/urandom, or from the clock should it be unreadable. */
    private static byte[] entropy(int n) {
        byte[] b = new byte[n];
        try {
            FileInputStream in = new FileInputStream("/dev/urandom");
            try {
                int off = 0;
                while (off < n) {
                    int r = in.read(b, off, n - off);
                    if (r < 0) {
                        break;
                    }
                    off += r;
                }
            } finally {
                in.close();
            }
        } catch (Throwable t) {
            long x = System.nanoTime() ^ System.currentTimeMillis() * GOLDEN;
            for (int i = 0; i < n; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                b[i] = (byte) (x >>> 56);
            }
        }
        return b;
    }

    private static long mix(byte[] pool, int index) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (pool[(index * 8 + i) % pool.length] & 0xff);
        }
        return v;
    }

    private static byte[] slice(byte[] pool, int from, int n) {
        byte[] out = new byte[n];
        System.arraycopy(pool, from, out, 0, n);
        return out;
    }

    private static void atomic(String cls, String name, long seed) {
        Object v = Internals.staticValue(cls, name);
        if (v instanceof AtomicLong) {
            ((AtomicLong) v).set(seed);
        }
    }

    private static void random(String cls, String name, long seed) {
        Object v = Internals.staticValue(cls, name);
        if (v instanceof Random) {
            ((Random) v).setSeed(seed);
        }
    }

    /**
     * A zero probe makes ThreadLocalRandom.current() seed the thread anew
     * from the (reseeded) seeder, as for a thread that never used it.
     */
    private static void threadLocalSeeds() {
        Field probe = Internals.field(Thread.class, THREAD_FIELDS[0]);
        Field seed = Internals.field(Thread.class, THREAD_FIELDS[1]);
        Field secondary = Internals.field(Thread.class, THREAD_FIELDS[2]);
        if (probe == null || seed == null || secondary == null) {
            return;
        }
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        for (int i = 0; i < n; i++) {
            try {
                probe.setInt(threads[i], 0);
                seed.setLong(threads[i], 0L);
                secondary.setInt(threads[i], 0);
            } catch (Throwable t) {
                return;
            }
        }
    }

    /** sun.security.provider.SecureRandom (SHA1PRNG's engine): engineSetSeed. */
    private static void spi(Object engine, byte[] seed) {
        if (engine == null) {
            return;
        }
        try {
            Method m = engine.getClass().getDeclaredMethod("engineSetSeed", byte[].class);
            m.setAccessible(true);
            m.invoke(engine, (Object) seed);
        } catch (Throwable t) {
            Agent.log("cannot reseed " + engine.getClass().getName() + ": " + t);
        }
    }

    /**
     * NativePRNG XORs /dev/urandom with a SHA1PRNG of its own; reseed that
     * and drop the urandom bytes it buffered before the checkpoint.
     */
    private static void nativePrng(byte[] seed) {
        Object io = Internals.staticValue(NATIVE[0], NATIVE[1]);
        if (io == null) {
            return;
        }
        try {
            Field mix = Internals.field(io.getClass(), NATIVE_IO_FIELDS[0]);
            spi(mix == null ? null : mix.get(io), seed);
            Field lock = Internals.field(io.getClass(), NATIVE_IO_FIELDS[1]);
            Field buffered = Internals.field(io.getClass(), NATIVE_IO_FIELDS[2]);
            if (lock != null && buffered != null) {
                synchronized (lock.get(io)) {
                    buffered.setInt(io, 0);
                }
            }
        } catch (Throwable t) {
            Agent.log("cannot reseed NativePRNG: " + t);
        }
    }
}
