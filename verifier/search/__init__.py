"""State-space search: the Python breadth-first search (`explicit`, `store`), hang analysis
on the explored graph (`hang`) and the reductions every search shares (`symmetry`,
`por`).

May import verifier.lang, verifier.ir, verifier.machine, verifier.run and verifier.trace.
"""
