"""Engines that run rewardkit's runner somewhere other than this machine's processes (``ray``).

Each engine module imports its framework lazily and is imported only when asked for.
"""
