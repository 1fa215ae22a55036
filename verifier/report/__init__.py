"""Showing results and traces: text, SVG, HTML, DOT, the terminal.

May import verifier.lang, verifier.ir, verifier.machine, verifier.run, verifier.trace,
verifier.search, verifier.smt and verifier.cost.
"""
