"""Serve Keystone's public WSGI application on 127.0.0.1 (test use only).

Run with the Python of the Keystone virtualenv, never imported by Mistral:
``python serve.py PORT``. ``OS_KEYSTONE_CONFIG_FILES`` names the config
file. A stdlib WSGI server with one thread per request is enough for a
test; the ``ready`` line tells the parent the socket is listening.
"""

import socketserver
import sys
from wsgiref import simple_server


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        sys.stderr.write('%s\n' % (format % args))


def main():
    port = int(sys.argv[1])
    del sys.argv[1:]  # Keystone parses the command line as its own
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    server = simple_server.make_server('127.0.0.1', port, app,
                                       server_class=_Server,
                                       handler_class=_QuietHandler)
    print('keystone ready on 127.0.0.1:%d' % port, flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
