"""KuCoin connection tester (seed "KuCoinTest.tsx"): credentials (masked), then four tests with their JSON."""

from __future__ import annotations

import streamlit as st

from engine import service
from ui.page import page

engine = page("KuCoin connection tester")

summary = service.kucoin_credentials(engine)
c = st.columns(4)
c[0].metric("Credentials", "configured" if summary["configured"] else "not configured")
for col, label, key in ((c[1], "API key", "api_key"), (c[2], "API secret", "api_secret"),
                        (c[3], "Passphrase", "passphrase")):
    col.caption(label)
    col.code(summary[key], language=None)  # plain text: a mask is never read as markdown
if not summary["configured"]:
    st.info("Set KUCOIN_API_KEY, KUCOIN_API_SECRET and KUCOIN_PASSPHRASE (environment, .env or secrets.json) and "
            "restart the console. The public tests run without them. Try a sandbox key first.")

if st.button("Run the four tests", type="primary"):
    with st.spinner("Calling KuCoin..."):
        st.session_state.kucoin_report = service.run_kucoin_check(engine)

report = st.session_state.get("kucoin_report")
names = [t[0] for t in service.KUCOIN_TESTS]
if report is None:
    for name in names:
        st.markdown(f"**{name}** · :gray[pending]")
else:
    st.markdown(f"**{report.passed} passed, {report.failed} failed**")
    for r in report.results:
        color = "green" if r.status == "success" else "red"
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "—"
        st.markdown(f"**{r.name}** · :{color}[{r.status}] · {latency} · `{r.endpoint}`")
        if r.status != "success":
            st.error(f"{r.message}. {r.advice}")
        with st.expander(f"{r.name}: full response"):
            st.json(r.data if r.data is not None else {"message": r.message})
