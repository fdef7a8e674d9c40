"""Execution: performing a plan's steps, waiting for rollouts, checking, rolling back."""
