"""The trading system: venues, quoting, orders, risk and the runtime. Never imports streamlit."""
