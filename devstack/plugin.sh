#!/usr/bin/env bash
# Devstack plugin of Mistral: installs it, writes its configuration,
# creates the schema, runs the api under uWSGI (mistral.wsgi:application)
# and every other component as its own mistral-server service.
#
# In local.conf:  enable_plugin mistral <url of this repository>
#
# shellcheck shell=bash
# Devstack defines the functions and variables this file uses (stack_install,
# iniset, run_process, DATABASE_*, RABBIT_*, ...) before it sources us.
# shellcheck disable=SC2154

XTRACE=$(set +o | grep xtrace)
set -o xtrace

function install_mistral {
    setup_develop "$MISTRAL_DIR"
    pip_install uwsgi
}

function configure_mistral {
    sudo install -d -o "$STACK_USER" "$MISTRAL_CONF_DIR"
    rm -f "$MISTRAL_CONF_FILE"

    iniset "$MISTRAL_CONF_FILE" DEFAULT debug "$MISTRAL_DEBUG"
    iniset "$MISTRAL_CONF_FILE" DEFAULT use_syslog False
    iniset_rpc_backend mistral "$MISTRAL_CONF_FILE" DEFAULT
    iniset "$MISTRAL_CONF_FILE" database connection \
        "$(database_connection_url mistral)"

    iniset "$MISTRAL_CONF_FILE" api host "$MISTRAL_SERVICE_HOST"
    iniset "$MISTRAL_CONF_FILE" api port "$MISTRAL_SERVICE_PORT"
    iniset "$MISTRAL_CONF_FILE" pecan auth_enable True
    configure_keystone_authtoken_middleware "$MISTRAL_CONF_FILE" mistral

    iniset "$MISTRAL_CONF_FILE" engine host "$(hostname)"
    iniset "$MISTRAL_CONF_FILE" executor host "$(hostname)"
    iniset "$MISTRAL_CONF_FILE" scheduler host "$(hostname)"

    # Recent devstack takes a module:callable here; set "module" as well
    # for versions that expected a script path.
    write_uwsgi_config "$MISTRAL_UWSGI_CONF" "$MISTRAL_WSGI_APP" \
        "/workflow" "" "mistral-api"
    iniset "$MISTRAL_UWSGI_CONF" uwsgi module "$MISTRAL_WSGI_APP"
    iniset "$MISTRAL_UWSGI_CONF" uwsgi enable-threads true
    iniset "$MISTRAL_UWSGI_CONF" uwsgi lazy-apps true
    iniset "$MISTRAL_UWSGI_CONF" uwsgi env \
        "MISTRAL_CONFIG_FILE=$MISTRAL_CONF_FILE"
}

function create_mistral_accounts {
    create_service_user mistral admin
    get_or_create_service "mistral" "workflowv2" "Workflow Service v2"
    get_or_create_endpoint "workflowv2" "$REGION_NAME" \
        "$MISTRAL_SERVICE_PROTOCOL://$MISTRAL_SERVICE_HOST/workflow/v2"
}

function init_mistral {
    recreate_database mistral utf8
    "$MISTRAL_BIN_DIR/mistral-db-manage" --config-file "$MISTRAL_CONF_FILE" \
        upgrade head
}

function start_mistral {
    run_process mistral-api \
        "$MISTRAL_BIN_DIR/uwsgi --procname-prefix mistral-api --ini $MISTRAL_UWSGI_CONF"
    local component
    for component in $MISTRAL_COMPONENTS; do
        run_process "mistral-$component" \
            "$MISTRAL_BIN_DIR/mistral-server --config-file $MISTRAL_CONF_FILE --server $component"
    done
}

function stop_mistral {
    local component
    for component in api $MISTRAL_COMPONENTS; do
        stop_process "mistral-$component"
    done
}

function cleanup_mistral {
    remove_uwsgi_config "$MISTRAL_UWSGI_CONF" "mistral-api"
    sudo rm -rf "$MISTRAL_CONF_DIR"
}

if is_service_enabled mistral; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing Mistral"
        install_mistral
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Mistral"
        configure_mistral
        if is_service_enabled key; then
            create_mistral_accounts
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting Mistral"
        init_mistral
        start_mistral
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_mistral
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_mistral
    fi
fi

$XTRACE
