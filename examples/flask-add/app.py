"""The tutorial's first web service: GET /?a=10&b=20 answers 30."""

import os

# The tutorial imports only Flask, and `request` is then undefined at the first call.
from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def add():
    a = request.args.get("a", type=int)
    b = request.args.get("b", type=int)
    if a is None or b is None:
        return "give two integers, as in /?a=10&b=20\n", 400
    return str(a + b)


if __name__ == "__main__":
    # 0.0.0.0, not Flask's default 127.0.0.1: inside a container, 127.0.0.1 is the container's own
    # loopback, which `docker run -p 5000:5000` cannot reach.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
