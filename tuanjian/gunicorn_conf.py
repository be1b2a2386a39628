"""gunicorn settings (``gunicorn -c python:tuanjian.gunicorn_conf``).

The access log keeps the path but never the query string or the referrer: searches put ID numbers and names in
the query string (?q=340827…), and personal data must not end up in log files.
"""
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
