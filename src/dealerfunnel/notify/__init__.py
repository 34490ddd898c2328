"""Notifications: routing (``config/notifications.yml``), channels (Slack, SMTP e-mail,
DingTalk, WeCom, generic webhook, outbox) through Airflow Connections, exactly-once delivery
of alert episodes recorded in ``ops.alert_deliveries``, and an Airflow ``BaseNotifier``."""
