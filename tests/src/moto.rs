//! moto_server on a free 127.0.0.1 port. TODO(helper)
