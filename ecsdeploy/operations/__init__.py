"""Operations: plan, apply, rollback as library calls with typed options and results.

The click commands parse options, call one operation and render its result;
locks, confirmation, the pre-flight's verdict and signal handling live here.
"""
