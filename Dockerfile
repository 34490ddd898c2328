# Image for the scale-out stack in docker-compose.yml: the official Airflow image plus this
# project's runtime package (no demo, test or lint tools), its DAGs, plugins, dbt project,
# suites and config. The lock constrains every version; only the runtime set is installed.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root pyproject.toml README.md requirements.lock /opt/dealerfunnel/
COPY --chown=airflow:root src /opt/dealerfunnel/src
RUN pip install --no-cache-dir -c /opt/dealerfunnel/requirements.lock /opt/dealerfunnel
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root dbt_project /opt/airflow/dbt_project
COPY --chown=airflow:root expectations /opt/airflow/expectations
COPY --chown=airflow:root config /opt/airflow/config
ENV DEALERFUNNEL_HOME=/opt/airflow \
    DEALERFUNNEL_DATA_DIR=/opt/airflow/var \
    DEALERFUNNEL_DEPLOYMENT=true
