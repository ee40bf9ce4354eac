"""Rendezvous: choose one answer among many models' scores, live, under a deadline."""
