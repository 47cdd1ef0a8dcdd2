"""Tables as an operator reads them: named headers, every number formatted (the market's decimals, thousands
separators, signs on PnL), ``—`` for what is unknown (never ``None`` or ``nan``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

Column = tuple[str, Callable[[Any, dict], str] | None]  # header, formatter(value, row) (None: shown as it is)


def frame(rows: Sequence[dict], columns: dict[str, Column]) -> pd.DataFrame:
    """Pure: ``rows`` as a frame of display strings, the columns in ``columns``' order under their headers."""
    data = []
    for row in rows:
        out = {}
        for key, (header, formatter) in columns.items():
            value = row.get(key)
            if value is None or (isinstance(value, float) and value != value):
                out[header] = "—"
            else:
                out[header] = formatter(value, row) if formatter else str(value)
        data.append(out)
    return pd.DataFrame(data, columns=[h for h, _ in columns.values()])


def table(rows: Sequence[dict], columns: dict[str, Column], key: str | None = None, **kwargs: Any) -> None:
    """Show ``rows`` (see :func:`frame`) as a dataframe with right-aligned numbers."""
    df = frame(rows, columns)
    config = {h: st.column_config.TextColumn(h) for h, _ in columns.values()}
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, key=key, **kwargs)
