/* Invalidate before update (tso): IPI every responder and wait for their acks first,
   then change the PTE, fence, complete, free: a responder can refill the old
   translation in between.  Mirrors invalidate_before_update.tlb (see README.md for
   what differs).  N responders: spin -DN=3 -a invalidate_before_update_loop.pml
   This variant (`invalidate_before_update_loop.tlb`) sends the IPIs one responder at a time. */
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
    for (i : 0 .. N-1) { pending[i]++ }   /* for c in cpu[*] { ipi c flush(V) }: one IPI a step */
    skip;                          /* invlpg V (the initiator never uses V) */
    acks == N;                     /* await acks == N */
    sb_val = NEW; sb_full = 1;     /* pte V := B rw (buffered) */
    sb_full == 0;                  /* fence */
    completed = 1;                 /* complete V */
    freed = 1                      /* free A */
}

proctype drainer() {               /* the buffered store reaches memory at any moment */
end: do
    :: atomic { sb_full -> pte = sb_val; sb_full = 0 }
    od
}

proctype cpu(byte i) {             /* loop { read V } */
end: do
    :: pending[i] > 0 -> pending[i]--;               /* handler flush entered (irq off) */
       tlb[i] = 0;                                   /* invlpg p */
       acks++;                                       /* acks += 1 */
       skip                                          /* return */
    :: tlb[i] != 0 ->                                /* read V: TLB hit */
       assert(!(tlb[i] == OLD && completed))         /* stale-translation / use-after-free */
    :: atomic { tlb[i] == 0 -> tlb[i] = pte };       /* miss: walk, fill, then access */
       assert(!(tlb[i] == OLD && completed))
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
