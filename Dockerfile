# One image for the web, media and worker services.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY backend ./backend
COPY proctoring ./proctoring
COPY trust_score ./trust_score
COPY agent ./agent
COPY protocol ./protocol
COPY sdk ./sdk
COPY scripts ./scripts
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps -r requirements/no-deps.txt \
 && python -m scripts.check_install
RUN useradd --create-home proctor && mkdir -p /app/var && chown proctor /app/var
USER proctor
EXPOSE 8000
CMD ["uvicorn", "backend.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
