"""The agent: one process per user that holds role credentials in memory (SPEC §11a).

paths.py says where its socket lives and checks that directory; protocol.py is the wire format
and the request key; client.py asks it (stdlib only: the warm path imports it before
anything heavy). server.py is the agent process and store.py what it holds; control.py starts
and stops it, show.py prints its status, and fetch.py is the cold path the agent runs in a
child process to fetch credentials.
"""
