/* The native search's fixed part: breadth-first search, state table, limits, hang analysis.
 *
 * Included after the code `cgen.py` generates for one System, which defines:
 *   NF, NCMD, NCORES, NKINDS, NVIEWS, W (packed bytes), NWORDS (uint64 words), MAXHITS
 *   INIT[NF], CMD_CORE[NCMD], CMD_SITE[NCMD] (-1: no site), CHECK_BASE[NCMD] and
 *   CHECK_KIND[] (kind index of check h of command c: CHECK_KIND[CHECK_BASE[c] + h]),
 *   successors(s, o)   every enabled command's successor (or a path's end) and check hits,
 *   pack(s, w) / unpack(w, s)   a state <-> its bit-packed form (pack: 0, or 1 + the field
 *                      index of a value outside its declared range),
 *   canon(s)           the canonical form under the reduced families (in place),
 *   pack_canon(s, w, perm)  the canonical form packed straight from s (perm: the order),
 *   COLLAPSE, NCOMP, NFAM, RW, CKW, PKW, CF[]  and prekey(s, k, perm), unkeys(kv, t),
 *   pack_rest / unpack_rest   collapsed keys (`collapse_c.py`),
 *   por_ok(c, s)       the ample condition of core c's current site (0: none),
 *   VIEW_CORE[], view_pos(v, s), view_await(v, p)  where each core's awaits block,
 *   CORE_INH[]         each core's in-handler flag field.
 * Everything that says what a step does is in that generated part; nothing here knows
 * the machine.
 *
 * Usage: search RESULT key=value...   (see `main`); progress lines on stdout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* bytes of a key buffer: a packed state, a pre-key (collapse_c.py) or hashes */
#define KB ((W > PKW ? W : PKW) + 16)
typedef struct Out {
    int n;                   /* entries */
    int cid[NCMD + 1];
    int has[NCMD + 1];       /* 0: the path ends (a fatal check held) */
    int32_t st[NCMD + 1][NF];
    int nh;
    int hc[MAXHITS + 1], hh[MAXHITS + 1];
    const uint8_t *sleep;    /* commands not fired from this state (a bit each), or NULL */
    const uint8_t *skip;     /* per core: 1 when its steps are skipped (`twins`), or NULL */
    /* the keys `ample` computed (the proviso looks its candidates up), reused by `expand`:
     * kdone[e], then entry e's key, its permutation and the table's answer */
    uint8_t kdone[NCMD + 1];
    long kj[NCMD + 1];
    uint8_t kk[NCMD + 1][KB], kc[NCMD + 1][KB];
    uint8_t lk[NCMD + 1][KB];  /* `expand`: the collapsed key looked up */
} Out;
#define SKIPPED(c) (o->sleep && (o->sleep[(c) >> 3] >> ((c) & 7) & 1))

static int range_error(int f);
/* A computed value bound for field f: outside its declared range the program stops (the
 * Python search runs instead); the ranges are checked here, so packing need not check. */
static inline int32_t ranged(int64_t v, int64_t lo, int64_t hi, int f) {
    if (v < lo || v > hi) range_error(f + 1);
    return (int32_t)v;
}

static int64_t tdiv(int64_t a, int64_t b) { return b == 0 ? 0 : a / b; }
static int64_t tmod(int64_t a, int64_t b) { return b == 0 ? 0 : a % b; }
static int64_t tab(const int64_t *t, int64_t len, int64_t i) { return i >= 0 && i < len ? t[i] : 0; }

#define HIT(c, h) do { o->hc[o->nh] = (c); o->hh[o->nh] = (h); o->nh++; } while (0)
#define END(c) do { o->cid[o->n] = (c); o->has[o->n] = 0; o->n++; } while (0)
/* The successor's state starts as a copy of s: through the C library's memcpy (picked
 * for this CPU), which copies a state of a few hundred fields several times faster
 * than the `rep movs` a compiler inlines for a copy of known size. */
static void *(*volatile copy_state)(void *, const void *, size_t) = memcpy;
#define NEXT(c) (o->cid[o->n] = (c), o->has[o->n] = 1, copy_state(o->st[o->n], s, sizeof(int32_t) * NF), o->st[o->n++])

/* Sort key a against b (nw 64-bit words, the first the most significant): 1 above,
 * -1 below, 0 equal. */
static inline int key_cmp(const uint64_t *a, const uint64_t *b, int nw) {
    for (int x = 0; x < nw; x++) if (a[x] != b[x]) return a[x] > b[x] ? 1 : -1;
    return 0;
}

static inline int key_gt(const uint64_t *a, const uint64_t *b, int nw) { return key_cmp(a, b, nw) > 0; }

/* Whether (key a, instance ia) sorts after (b, ib): by key, then by instance. */
static inline int key_after(const uint64_t *a, const uint64_t *b, int ia, int ib, int nw) {
    int c = key_cmp(a, b, nw);
    return c ? c > 0 : ia > ib;
}

/* A family's order (its m positions: instances, as `key_order` numbers them) after one
 * instance x, at position px of the parent's order `from` (sorted by key, then by
 * instance), has a new key: `from` without it, x inserted where its key goes, found by
 * binary search (the same order a sort gives). */
static void reposition(int *ord, const int *from, int m, int x, int px,
                       const uint64_t (*key)[CKW], int nw) {
    int lo = 0, hi = m - 1;  /* in `from` without px: the first that sorts after x */
    while (lo < hi) {
        int mid = (lo + hi) / 2, y = from[mid < px ? mid : mid + 1];
        if (key_after(key[y], key[x], y, x, nw)) hi = mid;
        else lo = mid + 1;
    }
    for (int a = 0, j = 0; a < m; a++) {
        if (a == lo) { ord[a] = x; continue; }
        if (j == px) j++;
        ord[a] = from[j++];
    }
}

static int sym_on;  /* symmetry reduction on (the arguments below); a loop's alternatives need it */

/* @@ generated @@ */

/* ------------------------------------------------------------ limits and memory */

static double t_start, t_deadline = 1e300, t_progress;
static size_t mem_used, mem_limit = (size_t)-1, mem_peak;
static const char *stop_reason = "";
static const char *phase = "search";
static double progress_every = 0.5;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Grow *p (of *cap elements of size elt) to hold at least `need`; 0 when the memory limit
 * would be passed (stop_reason says so) or the allocation fails. */
static int grow(void **p, size_t *cap, size_t need, size_t elt) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c += c / 8 + 4096; /* large blocks grow in place (mremap) */
    size_t more = (c - *cap) * elt;
    if (mem_used + more > mem_limit) { stop_reason = "memory"; return 0; }
    void *q = realloc(*p, c * elt);
    if (!q) { stop_reason = "memory"; return 0; }
    *p = q;
    mem_used += more;
    if (mem_used > mem_peak) mem_peak = mem_used;
    *cap = c;
    return 1;
}

static void release(void **p, size_t *cap, size_t elt) {
    free(*p);
    *p = NULL;
    mem_used -= *cap * elt;
    *cap = 0;
}

/* ------------------------------------------------------------ the state table */

static uint8_t *keys; static size_t keys_cap;       /* n * W: each state's key (canonical) */
static uint8_t *queue; static size_t queue_cap;     /* concrete states not expanded yet (symmetry) */
static size_t q_first;                              /* the state number queue[0] holds */
/* Parent links, narrowed: states are numbered as found, each while one state is merged, so
 * a state's parent is the merged state whose run of new children holds its number; kept as
 * the number of children each merged state added (`path_of` recovers the parents). */
static KIDS_T *kids; static size_t kids_cap, nkids;
static VIA_T *via; static size_t via_cap;   /* the command that reached it */
/* Each slot: 0 (empty), or the state's number + 1 in its low `num_bits` bits (enough for
 * any number the table may hold: fewer than table_cap) and, above them, the same bits of
 * the key's hash: a probe compares a stored key only when those bits match, so a lookup
 * loads about one key however long the probe (no extra memory: the bits were unused). */
static uint32_t *table; static size_t table_cap;
static uint32_t num_mask;   /* (1 << num_bits) - 1 */
static size_t nstates;
static int sym_on, por_on, keep_edges, sleep_on;
static int twins_on = 1;  /* skip the steps of an instance with an earlier twin (`twins`) */
/* sleep_on (the search that rebuilds shortest traces, verifier/search/commute.py): each
 * state not expanded yet has its sleep set, the commands it need not fire, SB bytes from
 * sleepq (state s_first first); indep holds, per command b, the commands that commute with b */
#define SB ((NCMD + 7) / 8)
static uint8_t *sleepq; static size_t sleepq_cap, s_first;
static uint8_t *indep;
static int queued; /* the frontier's concrete states are kept apart from the keys */
/* With symmetry and exact keys, a frontier state is kept as the permutation that took it
 * to its canonical form (its key): PERM_BYTES bytes, not W (`uncanon` undoes it). */
static int permq;
static size_t QW = W; /* bytes of a queue entry */

static uint64_t hash_bytes(const uint8_t *k, size_t len, uint64_t seed) {
    uint64_t h = seed, x;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&x, k + i, 8);
        h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    if (i < len) {
        x = 0;
        memcpy(&x, k + i, len - i);
        h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 29);
}

/* A stored key: the packed (canonical) state, or with hash compaction its 64-bit hash;
 * with bitstate two 64-bit hashes of it, from which BS_K bit positions are drawn. */
static int hc_on, bs_on;
static size_t KW = W;
static uint64_t hash_key(const uint8_t *k) { return hash_bytes(k, KW, 0x9E3779B97F4A7C15ull); }

/* ------------------------------------------------------------ bitstate (supertrace) */

static uint64_t *bits; static size_t bits_cap;   /* bs_nbits bits, in 64-bit words */
static uint64_t bs_nbits, bs_set;                   /* size, bits set */
static int bs_k = 3;                                /* hash functions */
static double bs_expected;                          /* sum over new states of P(all k bits set) */

/* Bit j of the array for key k (j < bs_k): h1 + j*h2 (double hashing), scaled to the size. */
static uint64_t bs_bit(const uint8_t *k, int j) {
    uint64_t h1, h2;
    memcpy(&h1, k, 8);
    memcpy(&h2, k + 8, 8);
    uint64_t h = h1 + (uint64_t)j * (h2 | 1);
    return (uint64_t)(((unsigned __int128)h * bs_nbits) >> 64);
}

static int bs_seen(const uint8_t *k) {
    for (int j = 0; j < bs_k; j++) {
        uint64_t b = bs_bit(k, j);
        if (!(bits[b >> 6] >> (b & 63) & 1)) return 0;
    }
    return 1;
}

/* Mark k's bits; the chance that a new state had all its bits set already (and would
 * have been omitted) is (set / size)^k, summed over the states stored. */
static void bs_mark(const uint8_t *k) {
    double f = (double)bs_set / (double)bs_nbits, p = 1;
    for (int j = 0; j < bs_k; j++) p *= f;
    bs_expected += p;
    for (int j = 0; j < bs_k; j++) {
        uint64_t b = bs_bit(k, j);
        if (!(bits[b >> 6] >> (b & 63) & 1)) { bits[b >> 6] |= 1ull << (b & 63); bs_set++; }
    }
}

/* The table has any size (grown by half at 4/5 full: 5-7.5 bytes per state); a hash is
 * mapped onto it by a multiply, probing runs linearly and wraps. */
static size_t scaled(uint64_t h, size_t cap) { return (size_t)(((unsigned __int128)h * cap) >> 64); }
static size_t slot_of(uint64_t h) { return scaled(h, table_cap); }
static size_t next_slot(size_t slot) { return slot + 1 == table_cap ? 0 : slot + 1; }

static uint32_t tag_of(uint64_t h) { return (uint32_t)h & ~num_mask; }

/* The slot holding key k (hash h, tag its tag_of), or the empty slot where it would go. */
static size_t probe(const uint8_t *k, uint64_t h) {
    uint32_t tag = tag_of(h);
    size_t slot = slot_of(h);
    for (;;) {
        uint32_t j = table[slot];
        if (!j) return slot;
        if ((j & ~num_mask) == tag && !memcmp(keys + (size_t)((j & num_mask) - 1) * KW, k, KW))
            return slot;
        slot = next_slot(slot);
    }
}

/* The number of the state with key k whose hash is h, or -1. */
static long find_h(const uint8_t *k, uint64_t h) {
    uint32_t j = table[probe(k, h)];
    return j ? (long)(j & num_mask) - 1 : -1;
}

static long find(const uint8_t *k) {
    if (bs_on) return bs_seen(k) ? 0 : -1; /* seen: taken as expanded already (conservative) */
    return find_h(k, hash_key(k));
}

static int grow_table(void) {
    size_t size = table_cap ? table_cap + table_cap / 2 : 1 << 12;
    size_t more = (size - table_cap) * sizeof(uint32_t);
    if (mem_used + more > mem_limit) { stop_reason = "memory"; return 0; }
    uint32_t *t = calloc(size, sizeof(uint32_t));
    if (!t) { stop_reason = "memory"; return 0; }
    mem_used += more;
    if (mem_used > mem_peak) mem_peak = mem_used;
    free(table);
    table = t;
    table_cap = size;
    int bits = 1;
    while (bits < 32 && ((size_t)1 << bits) <= size) bits++;
    num_mask = bits >= 32 ? 0xFFFFFFFFu : ((uint32_t)1 << bits) - 1;
    /* in batches: the slots of a batch are fetched while their hashes are computed */
    enum { BATCH = 32 };
    uint64_t hs[BATCH];
    for (size_t j0 = 0; j0 < nstates; j0 += BATCH) {
        size_t m = nstates - j0 < BATCH ? nstates - j0 : BATCH;
        for (size_t x = 0; x < m; x++) {
            hs[x] = hash_key(keys + (j0 + x) * KW);
            __builtin_prefetch(t + slot_of(hs[x]), 1);
        }
        for (size_t x = 0; x < m; x++) {
            size_t slot = slot_of(hs[x]);
            while (t[slot]) slot = next_slot(slot);
            t[slot] = tag_of(hs[x]) | (uint32_t)(j0 + x + 1);
        }
    }
    return 1;
}

/* add() with bitstate: a state whose bits are all set counts as visited (-3: its number
 * is not known); a new one is stored as its parent link and, until expanded, its
 * concrete form. */
#define SEEN (-3)
static long add_bits(const uint8_t *k, const uint8_t *c, long p, int v) {
    if (bs_seen(k)) return SEEN;
    size_t n = nstates;
    if (n >= 0xFFFFFFF0u) { stop_reason = "states"; return -2; }
    if (!grow((void **)&via, &via_cap, n + 1, sizeof(VIA_T))) return -2;
    if (!grow((void **)&queue, &queue_cap, (n + 1 - q_first) * QW, 1)) return -2;
    bs_mark(k);
    memcpy(queue + (n - q_first) * QW, c, QW);
    if (p >= 0) kids[p]++;
    via[n] = (VIA_T)v;
    nstates = n + 1;
    return (long)n;
}

/* The number of the state with key k, storing it (concrete form c, packed) as a new one
 * reached from p by command v if there is none; -2 when a limit stops the search. */
static long add_h(const uint8_t *k, uint64_t h, const uint8_t *c, long p, int v);
static long add(const uint8_t *k, const uint8_t *c, long p, int v) {
    return add_h(k, bs_on ? 0 : hash_key(k), c, p, v);
}

/* add() of a key whose hash_key is h (unused with bitstate). */
static long add_h(const uint8_t *k, uint64_t h, const uint8_t *c, long p, int v) {
    if (bs_on) return add_bits(k, c, p, v);
    size_t slot = probe(k, h);
    if (table[slot]) return (long)(table[slot] & num_mask) - 1;
    size_t n = nstates;
    if (n >= 0xFFFFFFF0u) { stop_reason = "states"; return -2; }
    if (!grow((void **)&keys, &keys_cap, (n + 1) * KW, 1)) return -2;
    if (!grow((void **)&via, &via_cap, n + 1, sizeof(VIA_T))) return -2;
    if (queued && !grow((void **)&queue, &queue_cap, (n + 1 - q_first) * QW, 1)) return -2;
    memcpy(keys + n * KW, k, KW);
    if (queued) memcpy(queue + (n - q_first) * QW, c, QW);
    if (p >= 0) kids[p]++;
    via[n] = (VIA_T)v;
    if (sleep_on) {
        if (!grow((void **)&sleepq, &sleepq_cap, (n + 1 - s_first) * SB, 1)) return -2;
        memset(sleepq + (n - s_first) * SB, 0, SB);
    }
    table[slot] = tag_of(h) | (uint32_t)(n + 1);
    nstates = n + 1;
    if (5 * nstates > 4 * table_cap && !grow_table()) return -2;  /* at most 4/5 full */
    return (long)n;
}

static int collapse_on;                   /* keys collapsed (below: collapsed keys) */
static void decode(const uint8_t *k, int32_t *t);

/* The concrete state number i (not expanded yet when symmetry is on), unpacked. */
static void concrete(size_t i, int32_t *s) {
    if (permq) {
        int32_t t[NF];
        if (collapse_on) decode(keys + i * KW, t);
        else unpack(keys + i * W, t);
        uncanon(t, queue + (i - q_first) * QW, s);
        return;
    }
    unpack(queued ? queue + (i - q_first) * W : keys + i * W, s);
}

/* Forget the concrete states (and sleep sets) before number i (expanded). */
static void drop_expanded(size_t i) {
    if (sleep_on && i - s_first >= (nstates - s_first) / 2 + 4096) {
        memmove(sleepq, sleepq + (i - s_first) * SB, (nstates - i) * SB);
        s_first = i;
    }
    if (!queued || i - q_first < (nstates - q_first) / 2 + 4096) return;
    memmove(queue, queue + (i - q_first) * QW, (nstates - i) * QW);
    q_first = i;
}

/* ------------------------------------------------------------ edges, hang analysis */

/* The edges hang analysis needs (see `expand`), in state order: ecnt[i] of them leave state
 * i; succ_off (where state i's begin) is built from the counts when the search is over. */
static KIDS_T *ecnt; static size_t ecnt_cap;
static uint32_t *succ_off; static size_t succ_off_cap;  /* fewer than 2^32 edges */
static uint32_t *succ; static size_t succ_cap, nsucc;
/* Per view and state: which of the view's awaits its core is at (k + 1 for
 * VIEW_AWAITS[v][k], 0: none), and flags: LEAVES (the await fires, or an edge leaves the
 * position), IN_HANDLER (the view's core is in a handler). */
#define LEAVES 1
#define IN_HANDLER 2
static POS_T *pos[NVIEWS + 1]; static size_t pos_cap[NVIEWS + 1];
static uint8_t *vflag[NVIEWS + 1]; static size_t vflag_cap[NVIEWS + 1];

static int await_code(int v, int pc) {
    for (int k = 0; k < VIEW_NAWAITS[v]; k++) if (VIEW_AWAITS[v][k] == pc) return k + 1;
    return 0;
}

/* The graph hang analysis walks, once the search is over: each state's tree edges (to
 * the states it added: not stored, the kids counts say which) and its stored edges. */
static int build_offsets(void) {
    uint32_t *all = NULL;
    size_t all_cap = 0, n = 0, child = 1, e = 0;
    if (!grow((void **)&succ_off, &succ_off_cap, nstates + 1, sizeof(uint32_t))) return 0;
    if (!grow((void **)&all, &all_cap, nsucc + nstates, sizeof(uint32_t))) return 0;
    for (size_t i = 0; i < nstates; i++) {
        succ_off[i] = (uint32_t)n;
        size_t nk = i < nkids ? kids[i] : 0, ne = i < nkids ? ecnt[i] : 0;
        for (size_t t = 0; t < nk; t++) all[n++] = (uint32_t)(child + t);
        child += nk;
        for (size_t t = 0; t < ne; t++) all[n++] = succ[e++];
    }
    succ_off[nstates] = (uint32_t)n;
    release((void **)&succ, &succ_cap, sizeof(uint32_t));
    release((void **)&ecnt, &ecnt_cap, sizeof(KIDS_T));
    succ = all;
    succ_cap = all_cap;
    nsucc = n;
    return 1;
}

typedef struct { long state; int core, pc, stuck; } Hang;

/* The first state (in number order) at position p of view v from which the await at p never
 * fires; -1 if none, -2 on a limit. */
static long doomed(int v, int p, int32_t *local, uint8_t *can, uint32_t *start, uint32_t *preds) {
    long count = 0;
    for (size_t i = 0; i < nstates; i++) local[i] = pos[v][i] == (POS_T)p ? (int32_t)count++ : -1;
    if (!count) return -1;
    /* can[k]: inside state k can leave (its await fires, or an edge leaves position p);
     * the edges inside, reversed: the predecessors of k are preds[start[k] .. start[k+1]) */
    memset(start, 0, (count + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < nstates; i++) {
        if (local[i] < 0) continue;
        long k = local[i];
        can[k] = vflag[v][i] & LEAVES; /* its await fires, or an edge leaves p (see `expand`) */
        for (uint32_t e = succ_off[i]; e < succ_off[i + 1]; e++) {
            uint32_t j = succ[e];
            if (pos[v][j] == (POS_T)p) start[local[j] + 1]++;
        }
    }
    for (long k = 0; k < count; k++) start[k + 1] += start[k];
    uint32_t total = start[count];
    for (size_t i = 0; i < nstates; i++) { /* start[k + 1] moves down to where k's begin */
        if (local[i] < 0) continue;
        for (uint32_t e = succ_off[i]; e < succ_off[i + 1]; e++) {
            uint32_t j = succ[e];
            if (pos[v][j] == (POS_T)p) preds[--start[local[j] + 1]] = (uint32_t)local[i];
        }
    }
    /* k's predecessors: preds[start[k + 1] .. end), end = start[k + 2], or total for the last */
    uint32_t *stack = (uint32_t *)local; /* `local` is not needed any more */
    long top = 0;
    for (long k = 0; k < count; k++) if (can[k]) stack[top++] = (uint32_t)k;
    while (top) {
        uint32_t k = stack[--top];
        uint32_t end = (long)k + 1 < count ? start[k + 2] : total;
        for (uint32_t e = start[k + 1]; e < end; e++) {
            uint32_t q = preds[e];
            if (!can[q]) { can[q] = 1; stack[top++] = q; }
        }
    }
    long first = -1;
    for (long k = 0; k < count; k++) if (!can[k]) { first = k; break; }
    if (first < 0) return -1;
    /* the state number of inside state `first` */
    long k = 0;
    for (size_t i = 0; i < nstates; i++)
        if (pos[v][i] == (POS_T)p && k++ == first) return (long)i;
    return -1;
}

/* Is core c (of view v) in a handler in state i that it never returns from? */
static int stuck_in_handler(long i0, int v) {
    uint8_t *seen = calloc(nstates, 1);
    uint32_t *stack = malloc(nstates * sizeof(uint32_t));
    int stuck = 1;
    if (!seen || !stack) { free(seen); free(stack); return 0; }
    long top = 0;
    stack[top++] = (uint32_t)i0;
    seen[i0] = 1;
    while (top) {
        uint32_t i = stack[--top];
        if (!(vflag[v][i] & IN_HANDLER)) { stuck = 0; break; }
        for (uint32_t e = succ_off[i]; e < succ_off[i + 1]; e++) {
            uint32_t j = succ[e];
            if (!seen[j]) { seen[j] = 1; stack[top++] = j; }
        }
    }
    free(seen); free(stack);
    return stuck;
}

/* 1: a hang found (in *h), 0: none, -1: a limit stopped the analysis. */
static int find_hang(Hang *h) {
    long best = -1;
    int best_core = -1, best_pc = -1, best_view = 0;
    phase = "hang analysis";
    /* the most states at one await, and the most edges between them: what `doomed` needs */
    size_t most = 1, most_inner = 1;
    for (int v = 0; v < NVIEWS; v++) {
        size_t cnt[VIEW_NAWAITS[v] + 1], inner[VIEW_NAWAITS[v] + 1];
        memset(cnt, 0, sizeof cnt);
        memset(inner, 0, sizeof inner);
        for (size_t i = 0; i < nstates; i++) {
            int k = (int)pos[v][i] - 1;
            if (k < 0) continue;
            cnt[k]++;
            for (uint32_t e = succ_off[i]; e < succ_off[i + 1]; e++) inner[k] += pos[v][succ[e]] == pos[v][i];
        }
        for (int k = 0; k < VIEW_NAWAITS[v]; k++) {
            if (cnt[k] > most) most = cnt[k];
            if (inner[k] > most_inner) most_inner = inner[k];
        }
    }
    size_t need = nstates * 4 + most * (1 + 4) + 4 + most_inner * 4;
    if (mem_used + need > mem_limit) { stop_reason = "memory"; return -1; }
    int32_t *local = malloc(nstates * sizeof(int32_t));
    uint8_t *can = malloc(most);
    uint32_t *start = malloc((most + 1) * sizeof(uint32_t));
    uint32_t *preds = malloc(most_inner * sizeof(uint32_t));
    if (!local || !can || !start || !preds) { stop_reason = "memory"; return -1; }
    mem_used += need;
    if (mem_used > mem_peak) mem_peak = mem_used;
    for (int v = 0; v < NVIEWS; v++) {
        for (int k = 0; k < VIEW_NAWAITS[v]; k++) {
            if (now() > t_deadline) { stop_reason = "time"; return -1; }
            int p = VIEW_AWAITS[v][k];
            long first = doomed(v, k + 1, local, can, start, preds);
            if (first >= 0 && (best < 0 || first < best)) {
                best = first; best_core = VIEW_CORE[v]; best_pc = p; best_view = v;
            }
        }
    }
    free(local); free(can); free(start); free(preds);
    mem_used -= need;
    if (best < 0) return 0;
    h->state = best; h->core = best_core; h->pc = best_pc;
    h->stuck = stuck_in_handler(best, best_view);
    return 1;
}

/* ------------------------------------------------------------ the search */

typedef struct { long state; int cid, check; } Found;

static Out out_buf;
static Found found[NKINDS + 1];
static int nfound;
static uint64_t transitions;
static size_t expanded;

static int range_error(int f) {
    fprintf(stderr, "range %d\n", f - 1);
    exit(4);
}

/* ------------------------------------------------------------ collapsed keys (SPIN's COLLAPSE)
 * With symmetry (and integer sort keys), a state is stored as its fields outside the
 * families, packed, and per position of each family the index of that position's sort
 * key in the family's table of the distinct keys seen so far (collapse_c.py says why
 * that is one-to-one): IW bytes each, 2 until a family has 65,536 distinct blocks, then
 * every stored key is widened to 4.  Indices are given in `merge`, in state order, so
 * they do not depend on the threads; `expand` only reads the tables (a block never seen
 * means a new state). */
#define CKB (8 * CKW)  /* bytes of a sort key in the block tables */
static size_t IW = 2;
static size_t widen_at = 0x10000; /* distinct blocks in a family that widen IW (tests: fewer) */
static uint64_t *ckeys[NFAM]; static size_t ckeys_cap[NFAM], ncomps[NFAM];  /* CKW words each */
static uint32_t *ctab[NFAM]; static size_t ctab_cap[NFAM];   /* index + 1; 0: empty */
static size_t EW = W;   /* bytes of a key in an expansion's buffer (a pre-key when collapsed) */

static size_t comp_slot(int f, const uint64_t *v) {
    uint64_t h = hash_bytes((const uint8_t *)v, CKB, 0x2545F4914F6CDD1Dull);
    size_t slot = scaled(h, ctab_cap[f]);
    for (;;) {
        uint32_t j = ctab[f][slot];
        if (!j) return slot;
        const uint64_t *k = ckeys[f] + (size_t)(j - 1) * CKW;
        int same = 1;
        for (int x = 0; x < CKW && same; x++) same = k[x] == v[x];  /* inlined, unlike memcmp */
        if (same) return slot;
        slot = slot + 1 == ctab_cap[f] ? 0 : slot + 1;
    }
}

static long comp_find(int f, const uint64_t *v) {
    if (!ctab_cap[f]) return -1;
    uint32_t j = ctab[f][comp_slot(f, v)];
    return j ? (long)j - 1 : -1;
}

static int widen(void);

/* The index of sort key v in family f's table, added if new; -2 when a limit stops. */
static long comp_add(int f, const uint64_t *v) {
    long j = comp_find(f, v);
    if (j >= 0) return j;
    size_t n = ncomps[f];
    if (n >= 0xFFFFFFF0u) { stop_reason = "states"; return -2; }
    if (!grow((void **)&ckeys[f], &ckeys_cap[f], (n + 1) * CKW, 8)) return -2;
    memcpy(ckeys[f] + n * CKW, v, CKB);
    ncomps[f] = n + 1;
    if (2 * ncomps[f] > ctab_cap[f]) {
        size_t cap = ctab_cap[f] ? 2 * ctab_cap[f] : 1024;
        if (mem_used + (cap - ctab_cap[f]) * 4 > mem_limit) { stop_reason = "memory"; return -2; }
        uint32_t *t = calloc(cap, 4);
        if (!t) { stop_reason = "memory"; return -2; }
        mem_used += (cap - ctab_cap[f]) * 4;
        if (mem_used > mem_peak) mem_peak = mem_used;
        free(ctab[f]);
        ctab[f] = t;
        ctab_cap[f] = cap;
        for (size_t x = 0; x < ncomps[f]; x++)
            ctab[f][comp_slot(f, ckeys[f] + x * CKW)] = (uint32_t)(x + 1);
    } else ctab[f][comp_slot(f, v)] = (uint32_t)(n + 1);
    if (IW == 2 && n + 1 >= widen_at && !widen()) return -2;
    return (long)n;
}

/* A block index as w bytes, little end first. */
static inline void put_index(uint8_t *at, size_t j, size_t w) {
    at[0] = (uint8_t)j;
    at[1] = (uint8_t)(j >> 8);
    if (w == 2) return;  /* the common width, unrolled */
    for (size_t b = 2; b < w; b++) at[b] = (uint8_t)(j >> (8 * b));
}

static inline size_t get_index(const uint8_t *at, size_t w) {
    size_t j = (size_t)at[0] | (size_t)at[1] << 8;
    if (w == 2) return j;
    for (size_t b = 2; b < w; b++) j |= (size_t)at[b] << (8 * b);
    return j;
}

/* Collapsed key `from` (indices fw bytes each) as `to` (tw bytes each). */
static void rewiden(uint8_t *to, const uint8_t *from, size_t fw, size_t tw) {
    memcpy(to, from, RW);
    for (int p = 0; p < NCOMP; p++)
        put_index(to + RW + tw * (size_t)p, get_index(from + RW + fw * (size_t)p, fw), tw);
}

/* The collapsed key of pre-key pk, into k: 0; -1 when a block was never seen (so the
 * state is new; only when not interning); -2 when a limit stops. */
static int collapse_key(const uint8_t *pk, uint8_t *k, int intern) {
    size_t iw = IW;
    memcpy(k, pk, RW);
    for (int p = 0; p < NCOMP; p++) {
        uint64_t v[CKW];
        memcpy(v, pk + RW + CKB * (size_t)p, CKB);
        long j = intern ? comp_add(CF[p], v) : comp_find(CF[p], v);
        if (j < 0) return (int)(j == -2 ? -2 : -1);
        put_index(k + RW + IW * (size_t)p, (size_t)j, IW);
    }
    return IW == iw ? 0 : collapse_key(pk, k, intern); /* widened meanwhile: again */
}

/* The canonical state (ints) of collapsed key k. */
static void decode(const uint8_t *k, int32_t *t) {
    uint64_t kv[NCOMP][CKW];
    unpack_rest(k, t);
    for (int p = 0; p < NCOMP; p++)
        memcpy(kv[p], ckeys[CF[p]] + get_index(k + RW + IW * (size_t)p, IW) * CKW, CKB);
    unkeys(kv, t);
}

#define COLLAPSED (-4)  /* `expand`: a new state's collapsed key follows (not its pre-key) */
#if INCREMENTAL
/* The collapsed key of t, reached from a state whose instances' sort keys are pk and
 * block indices pi by command cid, into k (as collapse_key(prekey(t)) gives it): only
 * the instances the command writes are keyed again; -1 when one of their blocks was
 * never seen (t is new). */
static int fast_key(const int32_t *t, const uint64_t (*pk)[CKW], const long *pi,
                    const int *pord, const int *pat, int cid, uint8_t *k, uint8_t *perm) {
    uint64_t key[NCOMP][CKW];
    long idx[NCOMP];
    int ord[NCOMP];
    memcpy(key, pk, sizeof key);
    memcpy(idx, pi, sizeof idx);
    for (int d = DIRTY_OFF[cid]; d < DIRTY_OFF[cid + 1]; d++) {
        int p = DIRTY[d];
        member_key(t, p, key[p]);
        if ((idx[p] = comp_find(CF[p], key[p])) < 0) return -1;
    }
    key_order(t, (const uint64_t (*)[CKW])key, ord, pord, pat, cid);
    pack_rest(t, k);
    for (int p = 0; p < NCOMP; p++) {
        put_index(k + RW + IW * (size_t)p, (size_t)idx[ord[p]], IW);
        perm[p] = (uint8_t)(ord[p] - CBASE[p]);  /* as `prekey` gives it */
    }
    return 0;
}
#endif

/* The number of the state with pre-key pk (`key_of`), or -1. */
static long lookup(const uint8_t *pk) {
    if (!collapse_on) return find(pk);
    uint8_t k[KB];
    return collapse_key(pk, k, 0) < 0 ? -1 : find(k);
}

/* add() of a pre-key. */
static long add_pre(const uint8_t *pk, const uint8_t *c, long p, int v) {
    if (!collapse_on) return add(pk, c, p, v);
    uint8_t k[KB];
    return collapse_key(pk, k, 1) < 0 ? -2 : add(k, c, p, v);
}

/* Every stored key's indices from 2 bytes to 4 (a family has 65,536 distinct blocks). */
static int widen(void) {
    size_t kw = RW + 4 * NCOMP, cap = nstates * kw;
    if (mem_used + cap > mem_limit) { stop_reason = "memory"; return 0; }
    uint8_t *nk = malloc(cap ? cap : 1);
    if (!nk) { stop_reason = "memory"; return 0; }
    for (size_t i = 0; i < nstates; i++) {
        rewiden(nk + i * kw, keys + i * KW, 2, 4);
    }
    IW = 4;
    mem_used += cap;
    release((void **)&keys, &keys_cap, 1);
    keys = nk;
    keys_cap = cap;
    KW = kw;
    if (mem_used > mem_peak) mem_peak = mem_used;
    return grow_table();  /* rehashed with the new keys */
}

/* The key of s: its canonical form packed (or its hash, hash compaction or bitstate). */
static void key_of(const int32_t *s, uint8_t *k, uint8_t *perm) {
    uint8_t full[W + 8];
    uint8_t *into = hc_on || bs_on ? full : k;
    if (collapse_on) {
        prekey(s, into, perm);  /* collapsed by `lookup` and `add_pre` */
    } else if (sym_on) {
        pack_canon(s, into, perm);
    } else {
        pack(s, into);
    }
    if (hc_on || bs_on) {
        uint64_t h = hash_bytes(full, W, 0x51ED270B27A9F3C5ull);
        memcpy(k, &h, 8);
    }
    if (bs_on) {
        uint64_t h = hash_bytes(full, W, 0xD6E8FEB86659FD93ull);
        memcpy(k + 8, &h, 8);
    }
}

static int fires(const Out *o, int c, int p) {
    for (int e = 0; e < o->n; e++) {
        int cid = o->cid[e];
        if (CMD_CORE[cid] == c && (CMD_SITE[cid] == p || !o->has[e])) return 1;
    }
    return 0;
}

/* One state's expansion, as bytes appended to a buffer: [nsel, nh, hits (cid, check)...,
 * views (pos, leave)..., successors (cid, has, key, concrete)...].  Computed by `expand`
 * (any thread: it only reads the table), consumed in state order by `merge`. */
typedef struct { uint8_t *p; size_t n, cap; } Buf;

static void put(Buf *b, const void *x, size_t len) {
    if (b->n + len > b->cap) {
        size_t c = b->cap ? b->cap : 1 << 16;
        while (c < b->n + len) c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) { fprintf(stderr, "out of memory\n"); exit(3); }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, x, len);
    b->n += len;
}

static void put_int(Buf *b, int32_t x) { put(b, &x, sizeof x); }

static int32_t get_int(const uint8_t **p) {
    int32_t x;
    memcpy(&x, *p, sizeof x);
    *p += sizeof x;
    return x;
}

/* The ample subset (partial-order reduction) of o's entries in sel, with the cycle proviso
 * (an ample step must not lead to a state numbered <= i); returns its size. */
static int ample(size_t i, const int32_t *s, Out *o, int *sel) {
    for (int cc = 0; cc < NCORES; cc++) {
        if (!por_ok(cc, s)) continue;
        int m = 0, mine[NCMD + 1];
        for (int e = 0; e < o->n; e++)
            if (CMD_CORE[o->cid[e]] == cc && CMD_SITE[o->cid[e]] >= 0) mine[m++] = e;
        if (m && m < o->n) {
            for (int x = 0; x < m; x++) {
                int e = mine[x];
                if (!o->has[e]) return o->n;
                key_of(o->st[e], o->kk[e], o->kc[e]);
                long j = o->kj[e] = lookup(o->kk[e]);
                o->kdone[e] = 1;
                if (j >= 0 && (size_t)j <= i) return o->n;
            }
            memcpy(sel, mine, sizeof(int) * m);
            return m;
        }
    }
    return o->n;
}

/* The commands that commute with each command (sleep sets, verifier/search/commute.py):
 * 0 when the table would be too large. */
static int sleep_init(void) {
    size_t bytes = (size_t)NCMD * SB;
    if (!HAS_SLEEP || bytes > ((size_t)64 << 20)) return 0;
    indep = calloc(bytes, 1);
    if (!indep) return 0;
    for (int b = 0; b < NCMD; b++)
        for (int a = 0; a < NCMD; a++) {
            int dep = 0;
            for (int x = 0; x < FW && !dep; x++)
                dep = (CMD_W[a][x] & (CMD_R[b][x] | CMD_W[b][x])) || (CMD_W[b][x] & CMD_R[a][x]);
            if (!dep) indep[(size_t)b * SB + (a >> 3)] |= (uint8_t)(1 << (a & 7));
        }
    return 1;
}

/* The sleep sets of the children state i has just added (numbered first..nstates-1): a
 * child reached by b sleeps on what i sleeps on, and on the commands of the children
 * added before it, that commute with b. */
static void sleep_children(size_t i, size_t first) {
    uint8_t base[SB];
    memcpy(base, sleepq + (i - s_first) * SB, SB);
    for (size_t j = first; j < nstates; j++) {
        int b = via[j];
        uint8_t *to = sleepq + (j - s_first) * SB;
        const uint8_t *ind = indep + (size_t)b * SB;
        for (int x = 0; x < SB; x++) to[x] = base[x] & ind[x];
        base[b >> 3] |= (uint8_t)(1 << (b & 7));
    }
}

static void expand(size_t i, Out *o, Buf *b) {
    int32_t s[NF];
    uint8_t c[KB];
    int sel[NCMD + 1];
    concrete(i, s);
    o->n = 0;
    o->nh = 0;
    o->sleep = sleep_on ? sleepq + (i - s_first) * SB : NULL;
    uint8_t skip[NCORES];
    o->skip = NULL;
    if (sym_on && twins_on) { twins(s, skip); o->skip = skip; }
    successors(s, o);
    for (int e = 0; e < o->n; e++) { sel[e] = e; o->kdone[e] = 0; }
    int nsel = por_on && o->n > 1 ? ample(i, s, o, sel) : o->n;
    /* Hang analysis keeps only the edges that stay at an await of some view whose source
     * cannot leave it otherwise (`inner`: from a state that can, every edge is moot); an
     * edge that moves a view's core off its position is folded into that view's LEAVES
     * flag.  A view's position is its (awaiting) core's, which the canonical
     * form never permutes (a family with an await is not reduced), so the successor's
     * concrete form tells it as its stored representative would. */
    int ps[NVIEWS + 1], lv[NVIEWS + 1], inner[NCMD + 1];
    for (int v = 0; v < NVIEWS; v++) {
        ps[v] = view_pos(v, s);
        lv[v] = view_await(v, ps[v]) ? fires(o, VIEW_CORE[v], ps[v]) : 0;
    }
    for (int x = 0; x < nsel; x++) {
        int e = sel[x];
        inner[x] = 0;
        if (!keep_edges || !o->has[e]) continue;
        for (int v = 0; v < NVIEWS; v++)
            if (view_pos(v, o->st[e]) != ps[v]) lv[v] = 1;
    }
    /* an edge matters only where it stays at an await its source cannot leave by itself */
    for (int x = 0; x < nsel; x++) {
        int e = sel[x];
        if (!keep_edges || !o->has[e]) continue;
        for (int v = 0; v < NVIEWS; v++)
            if (!lv[v] && view_await(v, ps[v]) && view_pos(v, o->st[e]) == ps[v]) inner[x] = 1;
    }
    put_int(b, nsel);
    put_int(b, o->nh);
    for (int x = 0; x < o->nh; x++) { put_int(b, o->hc[x]); put_int(b, o->hh[x]); }
    for (int v = 0; v < NVIEWS; v++) {
        put_int(b, await_code(v, ps[v]));
        put_int(b, (lv[v] ? LEAVES : 0) | (s[CORE_INH[VIEW_CORE[v]]] ? IN_HANDLER : 0));
    }
    /* the successors' keys first, their table slots prefetched, then the lookups: the
     * table's cache misses overlap.  Collapsed, a successor's key is built from this
     * state's sort keys and block indices (`fast_key`); its pre-key only when it is new */
    uint64_t lh[NCMD + 1];
#if INCREMENTAL
    uint64_t pk[NCOMP][CKW];
    long pi[NCOMP];
    int pord[NCOMP], pat[NCOMP];  /* this state's order, and where each instance is in it */
    int fast = collapse_on;
    for (int p = 0; fast && p < NCOMP; p++) {
        member_key(s, p, pk[p]);
        if ((pi[p] = comp_find(CF[p], pk[p])) < 0) fast = 0;
    }
    if (fast && ORDER_FROM_PARENT) {
        key_order(s, (const uint64_t (*)[CKW])pk, pord, NULL, NULL, 0);
        for (int p = 0; p < NCOMP; p++) pat[pord[p]] = p;
    }
#endif
    for (int x = 0; x < nsel; x++) {
        int e = sel[x];
        if (!o->has[e] || o->kdone[e]) continue;
#if INCREMENTAL
        if (fast) {
            o->kdone[e] = 3;  /* collapsed key known, not looked up; no pre-key yet */
            const uint64_t (*keys_here)[CKW] = (const uint64_t (*)[CKW])pk;
            if (fast_key(o->st[e], keys_here, pi, pord, pat, o->cid[e], o->lk[e], o->kc[e]) < 0) {
                key_of(o->st[e], o->kk[e], o->kc[e]);
                o->kdone[e] = 1;  /* a block never seen: a new state */
                o->kj[e] = -1;
                continue;
            }
            lh[e] = hash_key(o->lk[e]);
            __builtin_prefetch(&table[slot_of(lh[e])]);
            continue;
        }
#endif
        key_of(o->st[e], o->kk[e], o->kc[e]);
        o->kdone[e] = 2;  /* key known, not looked up */
        if (bs_on) continue;
        if (collapse_on && collapse_key(o->kk[e], o->lk[e], 0) < 0) {
            o->kdone[e] = 1;  /* a block never seen: a new state */
            o->kj[e] = -1;
            continue;
        }
        lh[e] = hash_key(collapse_on ? o->lk[e] : o->kk[e]);
        __builtin_prefetch(&table[slot_of(lh[e])]);
    }
    for (int x = 0; x < nsel; x++) {
        int e = sel[x];
        put_int(b, o->cid[e]);
        put_int(b, o->has[e] ? 1 + inner[x] : 0);
        if (!o->has[e]) continue;
        /* the table is only read while chunks expand: a state it has is passed on by
         * number; a new one (to `add` in order) with its key and concrete form */
        const uint8_t *kp = o->kk[e], *cp = o->kc[e];
        long j;
        if (o->kdone[e] == 1) j = o->kj[e];
        else if (bs_on) j = find(kp);
        else {
            j = find_h(collapse_on ? o->lk[e] : kp, lh[e]);
        }
        if (bs_on && j >= 0) j = SEEN;
        if (j == -1 && o->kdone[e] == 3) {  /* new here: its collapsed key, width, perm */
            j = COLLAPSED;
            put(b, &j, sizeof j);
            put_int(b, (int32_t)IW);
            put(b, &lh[e], sizeof lh[e]);
            put(b, o->lk[e], RW + IW * NCOMP);
            put(b, cp, QW);
            continue;
        }
        put(b, &j, sizeof j);
        if (j != -1) continue;
        put(b, kp, EW);
        if (permq) put(b, cp, QW);
        else if (queued) { pack(o->st[e], c); put(b, c, W); }
    }
}

/* Add state i's expansion (at *p, moved past it) to the graph; 0 when a limit stops it. */
static int merge(size_t i, const uint8_t **p) {
    int nsel = get_int(p), nh = get_int(p);
    transitions += nsel;
    for (int x = 0; x < nh; x++) {
        int cid = get_int(p), h = get_int(p);
        int kind = CHECK_KIND[CHECK_BASE[cid] + h];
        if (found[kind].state < 0) {
            found[kind].state = (long)i; found[kind].cid = cid; found[kind].check = h;
            nfound++;
        }
    }
    if (!grow((void **)&kids, &kids_cap, i + 1, sizeof(KIDS_T))) return 0;
    kids[i] = 0;
    nkids = i + 1;
    if (keep_edges && !grow((void **)&ecnt, &ecnt_cap, i + 1, sizeof(KIDS_T))) return 0;
    for (int v = 0; v < NVIEWS; v++) {
        int code = get_int(p), flags = get_int(p);
        if (!keep_edges) continue;
        if (!grow((void **)&pos[v], &pos_cap[v], i + 1, sizeof(POS_T))) return 0;
        if (!grow((void **)&vflag[v], &vflag_cap[v], i + 1, 1)) return 0;
        pos[v][i] = (POS_T)code;
        vflag[v][i] = (uint8_t)flags;
    }
    size_t edges_before = nsucc, first = nstates;
    for (int x = 0; x < nsel; x++) {
        int cid = get_int(p), has = get_int(p);
        if (!has) continue;
        long j;
        memcpy(&j, *p, sizeof j);
        *p += sizeof j;
        int fresh = 0; /* a tree edge, to a state this one adds: not stored (see build_offsets) */
        if (j == -1 || j == COLLAPSED) {
            size_t before = nstates;
            if (j == COLLAPSED) {  /* a collapsed key (`expand`), its indices iw bytes each */
                size_t iw = (size_t)get_int(p);
                uint64_t h;  /* the key's hash, when the width is unchanged */
                memcpy(&h, *p, sizeof h);
                const uint8_t *k = *p + sizeof h, *c = k + RW + iw * NCOMP;
                uint8_t wide[KB];
                *p = c + QW;
                if (iw != IW) {  /* widened since it was expanded */
                    rewiden(wide, k, iw, IW);
                    k = wide;
                    h = hash_key(k);
                }
                j = add_h(k, h, c, (long)i, cid);
            } else {
                const uint8_t *k = *p, *c = k;
                *p += EW;
                if (queued) { c = *p; *p += QW; }
                j = add_pre(k, c, (long)i, cid);
            }
            if (j == -2) return 0;
            fresh = j >= 0 && (size_t)j == before;
        }
        if (keep_edges && j >= 0 && has == 2 && !fresh) {
            if (!grow((void **)&succ, &succ_cap, nsucc + 1, sizeof(uint32_t))) return 0;
            succ[nsucc++] = (uint32_t)j;
        }
    }
    if (keep_edges) {
        if (nsucc >= 0xFFFFFFF0u) { stop_reason = "memory"; return 0; }
        ecnt[i] = (KIDS_T)(nsucc - edges_before);
    }
    if (sleep_on) sleep_children(i, first);
    return 1;
}

/* States expanded before they are merged: enough to share among threads; alone, few, so
 * that the table slots `expand` prefetched are still cached when `merge` adds the new
 * states (one thread: 1,024 states, 6-10% faster than 8,192). */
#define CHUNK 8192
#define CHUNK_ALONE 1024
/* Threads: each expands a contiguous run of the chunk's states into its own buffer. */
static int nthreads = 1;
typedef struct { size_t a, b; Out *o; Buf buf; } Work;

static void *work(void *arg) {
    Work *w = arg;
    w->buf.n = 0;
    for (size_t i = w->a; i < w->b; i++) expand(i, w->o, &w->buf);
    return NULL;
}

/* Breadth-first search; returns the reason it ended ("" when complete).  States are
 * expanded in chunks (in parallel when nthreads > 1: the table is only read meanwhile)
 * and merged in state order, so the numbering is that of a one-state-at-a-time search. */
static const char *search(long max_states, int stop_first, const int *stop_when, int nwhen) {
    static uint8_t k[KB], c[KB];
    Work ws[64];
    int nt = nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads;
    for (int x = 0; x < nt; x++) {
        memset(&ws[x], 0, sizeof ws[x]);
        ws[x].o = x == 0 ? &out_buf : calloc(1, sizeof(Out));
        if (!ws[x].o) { stop_reason = "memory"; return stop_reason; }
    }
    if (bs_on) {
        size_t words = (size_t)((bs_nbits + 63) / 64);  /* zeroed pages, touched as used */
        if (mem_used + words * 8 > mem_limit || !(bits = calloc(words, 8))) {
            stop_reason = "memory";
            return stop_reason;
        }
        bits_cap = words;
        mem_used += words * 8;
        if (mem_used > mem_peak) mem_peak = mem_used;
    } else if (!grow_table()) return stop_reason;
    int bad = in_range(INIT);
    if (bad) range_error(bad);
    key_of(INIT, k, c);
    if (!permq) pack(INIT, c);
    if (add_pre(k, c, -1, -1) < 0) return stop_reason;
    double next_look = now();
    size_t i = 0;
    while (i < nstates) {
        size_t chunk = nt == 1 ? CHUNK_ALONE : CHUNK;
        size_t end = nstates - i > chunk ? i + chunk : nstates;
        int used = end - i >= 64 * (size_t)nt ? nt : 1;
        size_t per = (end - i + used - 1) / used;
        pthread_t tid[64];
        for (int x = 0; x < used; x++) {
            ws[x].a = i + per * x < end ? i + per * x : end;
            ws[x].b = ws[x].a + per < end ? ws[x].a + per : end;
            if (x == 0 || pthread_create(&tid[x], NULL, work, &ws[x])) tid[x] = 0;
        }
        for (int x = 1; x < used; x++) if (!tid[x]) work(&ws[x]); /* no thread: do it here */
        work(&ws[0]);
        for (int x = 1; x < used; x++) if (tid[x]) pthread_join(tid[x], NULL);
        for (int x = 0; x < used; x++) {
            const uint8_t *p = ws[x].buf.p;
            for (; i < ws[x].b; i++) {
                if (!merge(i, &p)) return stop_reason;
                expanded = i + 1;
                if (stop_first && nfound) return "first";
                if (nwhen) {
                    int all = 1;
                    for (int y = 0; y < nwhen; y++) if (found[stop_when[y]].state < 0) all = 0;
                    if (all) return "when";
                }
                if (((i + 1) & 255) == 0) {
                    double t = now();
                    if (t > t_deadline) return "time";
                    if (t >= next_look) {
                        next_look = t + progress_every;
                        printf("progress %zu %zu %llu\n", nstates, nstates - i - 1,
                               (unsigned long long)transitions);
                        fflush(stdout);
                    }
                }
                if (max_states >= 0 && (long)nstates > max_states) return "states";
            }
        }
        drop_expanded(i);
    }
    return "";
}

/* The command path from the initial state to state i: one pass down the merged states,
 * whose children are numbered [c - kids[t], c), c counting down from nstates. */
static long path_of(long i, int32_t **cids) {
    long len = 0, cap = 64, x = i;
    int32_t *back = malloc(cap * sizeof(int32_t)); /* the commands, last first */
    size_t c = nstates;
    for (long t = (long)nkids - 1; t >= 0 && x > 0; t--) {
        c -= kids[t];
        if ((size_t)x < c) continue;
        if (len == cap) back = realloc(back, (cap *= 2) * sizeof(int32_t));
        back[len++] = via[x];
        x = t;
    }
    *cids = malloc((len + 1) * sizeof(int32_t));
    for (long k = 0; k < len; k++) (*cids)[k] = back[len - 1 - k];
    free(back);
    return len;
}

/* The concrete state at the end of a path (re-executed). */
static void replay(const int32_t *cids, long len, int32_t *s) {
    memcpy(s, INIT, sizeof(int32_t) * NF);
    for (long x = 0; x < len; x++) {
        out_buf.n = 0; out_buf.nh = 0; out_buf.sleep = NULL; out_buf.skip = NULL; /* every command */
        successors(s, &out_buf);
        for (int e = 0; e < out_buf.n; e++)
            if (out_buf.cid[e] == cids[x] && out_buf.has[e]) { memcpy(s, out_buf.st[e], sizeof(int32_t) * NF); break; }
    }
}

static void write_found(FILE *f, int kind, long state, int cid, int check, int core, int pc, int stuck) {
    int32_t *cids, s[NF];
    long len = path_of(state, &cids);
    fprintf(f, "found %d %ld %d %d %d %d %d\n", kind, state, cid, check, core, pc, stuck);
    fprintf(f, "path %d %ld", kind, len);
    for (long x = 0; x < len; x++) fprintf(f, " %d", cids[x]);
    replay(cids, len, s);
    fprintf(f, "\nstate %d", kind);
    for (int x = 0; x < NF; x++) fprintf(f, " %d", s[x]);
    fprintf(f, "\n");
    free(cids);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: search RESULT key=value...\n"); return 2; }
    long max_states = -1;
    int stop_first = 0, nwhen = 0, when[NKINDS + 1], hangs = 1, sleepy = 0, collapse = 1;
    double timeout = -1, max_mb = -1;
    for (int a = 2; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        if (!eq) { fprintf(stderr, "bad argument %s\n", argv[a]); return 2; }
        *eq = 0;
        const char *key = argv[a], *val = eq + 1;
        if (!strcmp(key, "max_states")) max_states = atol(val);
        else if (!strcmp(key, "timeout")) timeout = atof(val);
        else if (!strcmp(key, "max_mb")) max_mb = atof(val);
        else if (!strcmp(key, "symmetry")) sym_on = atoi(val) && HAS_SYMMETRY;
        else if (!strcmp(key, "por")) por_on = atoi(val) && HAS_POR;
        else if (!strcmp(key, "edges")) keep_edges = atoi(val);
        else if (!strcmp(key, "hangs")) hangs = atoi(val);
        else if (!strcmp(key, "sleep")) sleepy = atoi(val);
        else if (!strcmp(key, "twins")) twins_on = atoi(val);
        else if (!strcmp(key, "collapse")) {
            collapse = atol(val) > 0;
            if (collapse && (size_t)atol(val) < widen_at) widen_at = (size_t)atol(val);
        }
        else if (!strcmp(key, "stop_first")) stop_first = atoi(val);
        else if (!strcmp(key, "progress")) progress_every = atof(val);
        else if (!strcmp(key, "threads")) nthreads = atoi(val);
        else if (!strcmp(key, "hash_compact")) hc_on = atoi(val);
        else if (!strcmp(key, "bitstate")) { bs_nbits = strtoull(val, NULL, 10); bs_on = bs_nbits > 0; }
        else if (!strcmp(key, "hashes")) bs_k = atoi(val) < 1 ? 1 : atoi(val) > 16 ? 16 : atoi(val);
        else if (!strcmp(key, "stop_when")) {
            for (const char *p = val; *p;) {
                char *end;
                long x = strtol(p, &end, 10);
                if (end == p) break;
                if (x >= 0 && x < NKINDS && nwhen < NKINDS) when[nwhen++] = (int)x;
                p = *end ? end + 1 : end;
            }
        } else { fprintf(stderr, "unknown argument %s\n", key); return 2; }
    }
    if (bs_on) hc_on = 0;
    if (hc_on) KW = 8;
    if (bs_on) KW = 16;
    EW = KW;
    queued = sym_on || hc_on || bs_on;
    permq = sym_on && !hc_on && !bs_on && PERM_BYTES > 0;
    if (permq) QW = PERM_BYTES;
    collapse_on = COLLAPSE && permq && collapse;
    if (collapse_on) { KW = RW + IW * NCOMP; EW = PKW; }
    t_start = now();
    if (timeout >= 0) t_deadline = t_start + timeout;
    if (max_mb >= 0) mem_limit = (size_t)(max_mb * 1048576.0);
    for (int x = 0; x < NKINDS; x++) found[x].state = -1;
    if (NVIEWS && !bs_on && hangs) keep_edges = 1; /* bitstate: no graph, so no hang analysis */
    sleep_on = sleepy && !keep_edges && !por_on && !hc_on && !bs_on && sleep_init();
    const char *why = search(max_states, stop_first, when, nwhen);
    size_t blocks_at_end = 0;
    for (int x = 0; x < NFAM; x++) blocks_at_end += ckeys_cap[x] * 8 + ctab_cap[x] * 4;
    size_t at_end = mem_used, keys_at_end = keys_cap, table_at_end = table_cap * 4, queue_at_end = queue_cap;
    int complete = !*why;
    Hang h = {-1, -1, -1, 0};
    int hang = 0;
    if (complete && keep_edges && NVIEWS) {
        release((void **)&table, &table_cap, sizeof(uint32_t)); /* no more lookups */
        release((void **)&queue, &queue_cap, 1);
        release((void **)&keys, &keys_cap, 1); /* nor keys: paths come from kids and via */
        for (int x = 0; x < NFAM; x++) {
            release((void **)&ckeys[x], &ckeys_cap[x], 8);
            release((void **)&ctab[x], &ctab_cap[x], 4);
        }
        hang = build_offsets() ? find_hang(&h) : -1;
        if (hang < 0) { complete = 0; why = stop_reason; hang = 0; }
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror(argv[1]); return 2; }
    fprintf(f, "states %zu\ntransitions %llu\nexpanded %zu\ncomplete %d\nreason %s\nphase %s\n",
            nstates, (unsigned long long)transitions, expanded, complete, *why ? why : "-", phase);
    /* the depth every execution up to which was checked (as `api.depth_done`) */
    int32_t *cids;
    long depth = expanded >= nstates ? path_of((long)nstates - 1, &cids) + 1 : path_of((long)expanded, &cids);
    free(cids);
    size_t per_state = sizeof(KIDS_T) + sizeof(VIA_T) + (bs_on ? 0 : KW);
    /* hash compaction: the probability that two of the n states share a 64-bit hash (one of
     * them then omitted) is at most n(n-1)/2 / 2^64 */
    double omission = hc_on ? (double)nstates * ((double)nstates - 1) / 2 / 18446744073709551616.0 : 0;
    if (bs_on) omission = bs_expected < 1 ? bs_expected : 1;
    fprintf(f, "omission %.3g\n", omission);
    fprintf(f, "memory keys=%zu blocks=%zu table=%zu queue=%zu kids=%zu via=%zu edges=%zu "
            "offsets=%zu at_end=%zu peak=%zu\n", keys_at_end, blocks_at_end, table_at_end, queue_at_end,
            kids_cap * sizeof(KIDS_T), via_cap * sizeof(VIA_T), nsucc * 4, succ_off_cap * 4,
            at_end, mem_peak);
    if (bs_on)
        fprintf(f, "bitstate %llu %d %llu %d\n", (unsigned long long)bs_nbits, bs_k,
                (unsigned long long)bs_set, NVIEWS > 0);
    fprintf(f, "depth %ld\nbytes %zu\nwidth %d\nkey %zu\nper_state %zu\nseconds %.6f\n", depth,
            mem_peak, W, KW, per_state, now() - t_start);
    for (int x = 0; x < NKINDS; x++)
        if (found[x].state >= 0) write_found(f, x, found[x].state, found[x].cid, found[x].check, -1, -1, 0);
    if (hang) write_found(f, NKINDS, h.state, -1, -1, h.core, h.pc, h.stuck);
    fprintf(f, "end\n");
    if (fclose(f)) { perror(argv[1]); return 2; }
    return 0;
}
