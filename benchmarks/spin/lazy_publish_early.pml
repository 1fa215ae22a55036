/* Lazy shootdown, generation published before the flush (pso): as lazy_generation.pml,
   but a responder that notices generation 1 records it at once and flushes only in its
   next round, after its next accesses.  Mirrors lazy_publish_early.tlb (see README.md
   for what differs).  N responders: spin -DN=3 -a lazy_publish_early.pml */
#ifndef N
#define N 2
#endif
#define OLD 1                      /* PTE value: V -> A rw (the page declaration) */
#define NEW 2                      /* PTE value: V -> B rw (the pte statement) */

byte pte = OLD;                    /* page-table entry in memory */
byte gen;                          /* generation in memory */
byte seen[N];                      /* per responder: generation recorded, in memory */
bool completed, freed;             /* `complete V` happened; frame A was freed */
/* the initiator's store buffer under pso: one slot per address, drained in any order */
bool sb_pte; bool sb_gen;
byte tlb[N];                       /* responder TLB entry for V: 0 empty, else a PTE value */
bool sb_seen[N]; byte sb_seen_val[N];   /* responder store buffers (seen[self]) */

proctype initiator() {
    byte c;
    sb_pte = 1;                    /* pte V := B rw (buffered) */
#ifndef MISSING_FENCE
    sb_pte == 0;                   /* fence */
#endif
    sb_gen = 1;                    /* gen := 1 (buffered) */
    for (c : 0 .. N-1) {
        seen[c] == 1               /* await seen[c] == 1 */
    }
    completed = 1;                 /* complete V */
    freed = 1                      /* free A */
}

proctype drainer() {               /* the initiator's stores reach memory at any moment */
end: do
    :: atomic { sb_pte -> pte = NEW; sb_pte = 0 }
    :: atomic { sb_gen -> gen = 1; sb_gen = 0 }
    od
}

proctype cpu(byte i) {
    byte mine, g, pc, due;         /* pc 0: read V, 1: write V, 2: if due, 3: g := gen, 4: if */
end: do
    :: pc < 2 && tlb[i] != 0 ->                      /* read V / write V: TLB hit */
       assert(!(tlb[i] == OLD && completed));        /* stale-translation / use-after-free */
       pc++
    :: atomic { pc < 2 && tlb[i] == 0 -> tlb[i] = pte };   /* miss: walk, fill, access */
       assert(!(tlb[i] == OLD && completed));
       pc++
    :: atomic { tlb[i] == 0 -> tlb[i] = pte }        /* speculative walker fill */
    :: atomic { sb_seen[i] -> seen[i] = sb_seen_val[i]; sb_seen[i] = 0 }   /* drain */
    :: pc == 2 && due == 0 -> pc = 3                 /* if due == 1: not taken */
    :: pc == 2 && due == 1 ->
       tlb[i] = 0;                                   /* flush all */
       due = 0; pc = 3                               /* due := 0 */
    :: pc == 3 -> g = gen; pc = 4                    /* g := gen (memory: no own store to it) */
    :: pc == 4 && g == mine -> pc = 0                /* if g != mine: not taken */
    :: pc == 4 && g != mine ->
       mine = g;                                     /* mine := g */
       sb_seen[i] == 0;                              /* (one buffered store per responder) */
       sb_seen_val[i] = g; sb_seen[i] = 1;           /* seen[self] := g (buffered) */
       due = 1;                                      /* due := 1 */
       pc = 0
    od
}

init {
    byte i;
    atomic {
        run initiator(); run drainer();
        for (i : 0 .. N-1) { run cpu(i) }
    }
}
