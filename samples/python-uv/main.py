"""A FastAPI app: pypack/python finds ``app`` and serves it with uvicorn on $PORT."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
def index() -> str:
    return "Hello from FastAPI, locked by uv\n"
