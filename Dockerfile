# One image for every rendezvous process (worker, models, console); see docker-compose.yml.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY streamapp ./streamapp
COPY console ./console
COPY models ./models
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 rendezvous \
    && mkdir -p /data && chown rendezvous /data

USER rendezvous
ENV RENDEZVOUS_DATA_DIR=/data
ENTRYPOINT ["rendezvous"]
CMD ["--help"]
