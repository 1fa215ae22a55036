"""tlbcheck: a verifier for TLB coherence protocols on weak memory models."""

__version__ = "0.1.0"
