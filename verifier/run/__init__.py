"""What every engine shares: a run's limits (`budget`), the `Result`/`Trace` shapes it
returns (`result`), a spec under one memory model (`model`), the System compiled to
Python step functions (`compile`) and what the store-buffer bound means (`capacity`).

May import verifier.lang, verifier.ir and verifier.machine.
"""
