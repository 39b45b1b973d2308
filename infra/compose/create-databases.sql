-- Run once by the postgres image on an empty volume: one database per consumer, owned
-- by the user of .env (POSTGRES_USER).
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
CREATE DATABASE feast;
