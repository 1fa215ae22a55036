"""`tlbcheck cost`: one timed run along the intended schedule (`timing`) over the machine's
own commands (`rules`), priced by the cost table (`table`, `costs.toml`).

May import verifier.lang, verifier.ir, verifier.machine and verifier.run.
"""
