"""The shop's web front end: server-rendered pages (Starlette + Jinja2 on uvicorn) over the gRPC services.

Layout: server.py runs the process (socket, ready file, signals); app.py wires routes,
middleware and failure pages; backends.py owns the gRPC channels; views/ holds the pages;
forms.py validates input; session.py keeps the login in a signed cookie; failures.py maps
gRPC status codes to what a shopper sees. ELEMENTS.md lists the element ids UI tests use.
"""
