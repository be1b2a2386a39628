# tuanjian: production image (gunicorn, non-root). Build: docker build -t tuanjian .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TUANJIAN_INSTANCE_PATH=/data
WORKDIR /app

COPY pyproject.toml README.md ./
COPY tuanjian ./tuanjian
COPY migrations ./migrations
COPY app.py ./
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 tuanjian \
    && mkdir -p /data && chown tuanjian /data

USER tuanjian
VOLUME ["/data"]
EXPOSE 8000
# Migrations are a separate step: docker run --rm -e TUANJIAN_SECRET_KEY=… -v tj:/data tuanjian flask --app tuanjian db upgrade
CMD ["gunicorn", "-c", "python:tuanjian.gunicorn_conf", "--workers", "4", "--bind", "0.0.0.0:8000", "tuanjian:create_app()"]
