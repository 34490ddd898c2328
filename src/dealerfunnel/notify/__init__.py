"""Notifications: routing (``config/notifications.yml``); channels (Slack, SMTP e-mail, generic
webhook through the Airflow providers' notifiers; DingTalk, WeCom and a local outbox through
notifiers of the same ``BaseNotifier`` shape) on Airflow Connections; exactly-once delivery of
alert episodes recorded in ``ops.alert_deliveries``; a routing ``BaseNotifier`` for DAG
failure callbacks."""
