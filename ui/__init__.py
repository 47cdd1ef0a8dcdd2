"""Streamlit pieces shared by the console's pages: the login gate, the sidebar, formatting."""
