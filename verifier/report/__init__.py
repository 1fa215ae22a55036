"""Showing results and traces: text, SVG, HTML, DOT, the terminal.

May import verifier.lang, verifier.ir, verifier.machine and verifier.engines.
"""
