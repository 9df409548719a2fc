"""The browser page of `signtrain export --format web`: its files (page/), the npm packages it runs
on (assets.py), the folder an export writes (folder.py) and the local server (serve.py)."""
