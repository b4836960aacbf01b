# camdensity API and ingest job (the same image; the command picks the role).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libexpat1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY camdensity camdensity
COPY ingest ingest
COPY tiles tiles
COPY service service
COPY sql sql
COPY evidence evidence
COPY data data
RUN pip install --no-cache-dir .
ENV PORT=8000
EXPOSE 8000
CMD ["camdensity", "serve", "--host", "0.0.0.0"]
