"""Traces a person can read: a path of command ids re-executed into steps with their
effects, links and the final problem's wording (`builder`), and the trace file's shape
(`schema`).

May import verifier.lang, verifier.ir, verifier.machine and verifier.run.
"""
