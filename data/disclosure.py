"""Small-count suppression for shared screens and exports.

On a wall screen in a hall or in a spreadsheet that leaves the building, "1 petition from
village X this week" can point at a person. Counts below a threshold are therefore shown as
``<N`` there (setting ``SHIYU_SMALL_COUNT_THRESHOLD``; 0 disables). Zero stays zero: "none"
identifies nobody and hiding it would only confuse.
"""

from __future__ import annotations

import math

__all__ = ["suppress_small"]


def suppress_small(value: float | int | None, threshold: int) -> str:
    """Format a count, replacing 1 … threshold-1 by ``"<threshold"``.

    Parameters
    ----------
    value : int, float or None
        The count (None or NaN is shown as ``"-"``).
    threshold : int
        Counts ``0 < value < threshold`` are suppressed; ``threshold <= 1`` shows everything.

    Examples
    --------
    >>> suppress_small(2, 3), suppress_small(3, 3), suppress_small(0, 3), suppress_small(2, 0)
    ('<3', '3', '0', '2')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if threshold > 1 and 0 < value < threshold:
        return f"<{threshold}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:.1f}"
