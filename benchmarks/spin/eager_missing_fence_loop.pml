/* Eager shootdown, missing fence (tso): change the PTE, IPI every responder, wait for
   their acks, complete, free.  Mirrors eager_missing_fence.tlb (see README.md for what
   differs).  N responders: spin -DN=3 -a eager_missing_fence.pml
   This variant (`eager_missing_fence_loop.tlb`) sends the IPIs one responder at a time. */
#ifndef N
#define N 2
#endif
#define OLD 1                      /* PTE value: V -> A rw (the page declaration) */
#define NEW 2                      /* PTE value: V -> B rw (the pte statement) */

byte pte = OLD;                    /* page-table entry in memory */
bool sb_full; byte sb_val;         /* the initiator's store buffer (one pte store) */
byte acks;
bool completed, freed;             /* `complete V` happened; frame A was freed */
byte tlb[N];                       /* responder TLB entry for V: 0 empty, else a PTE value */
byte pending[N];                   /* queued flush IPIs */

proctype initiator() {
    byte i;
    sb_val = NEW; sb_full = 1;     /* pte V := B rw (buffered) */
    for (i : 0 .. N-1) { pending[i]++ }   /* for c in cpu[*] { ipi c flush(V) }: one IPI a step */
    skip;                          /* invlpg V (the initiator never uses V) */
    acks == N;                     /* await acks == N */
    completed = 1;                 /* complete V */
    freed = 1                      /* free A */
}

proctype drainer() {               /* the buffered store reaches memory at any moment */
end: do
    :: atomic { sb_full -> pte = sb_val; sb_full = 0 }
    od
}

proctype cpu(byte i) {
    bit pc;                        /* 0: read V, 1: write V */
end: do
    :: pending[i] > 0 -> pending[i]--;               /* handler flush entered (irq off) */
       tlb[i] = 0;                                   /* invlpg p */
       acks++;                                       /* acks += 1 */
       skip                                          /* return */
    :: tlb[i] != 0 ->                                /* read V / write V: TLB hit */
       assert(!(tlb[i] == OLD && completed));        /* stale-translation / use-after-free */
       pc = 1 - pc
    :: atomic { tlb[i] == 0 -> tlb[i] = pte };       /* miss: walk, fill, then access */
       assert(!(tlb[i] == OLD && completed));
       pc = 1 - pc
    :: atomic { tlb[i] == 0 -> tlb[i] = pte }        /* speculative walker fill */
    od
}

init {
    byte i;
    atomic {
        run initiator(); run drainer();
        for (i : 0 .. N-1) { run cpu(i) }
    }
}
