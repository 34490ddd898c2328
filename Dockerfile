# Image for the scale-out stack in docker-compose.yml: the official Airflow image plus this
# project's locked dependencies, DAGs, plugins, dbt project, suites and config.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.lock /opt/dealerfunnel/requirements.lock
RUN pip install --no-cache-dir -r /opt/dealerfunnel/requirements.lock
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root dbt_project /opt/airflow/dbt_project
COPY --chown=airflow:root expectations /opt/airflow/expectations
COPY --chown=airflow:root config /opt/airflow/config
ENV PYTHONPATH=/opt/airflow/plugins \
    DEALERFUNNEL_DATA_DIR=/opt/airflow/var \
    DEALERFUNNEL_CONFIG_DIR=/opt/airflow/config
