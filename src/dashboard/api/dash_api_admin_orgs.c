/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API organisations: /admin/organisations (list, create, import, get, update, delete). */
#include "dash_routes.h"
#include "dash_util.h"

#include <stdlib.h>
#include <string.h>

static void list_orgs(dash_req_t *req)
{
    dash_list_query_t q = {.col = -1};
    dash_reply_list(req, DASH_ORG, &q, "organisations", "pages");
}

/* Creates @org under @id (its own "id" is set to it). Stages the reply. */
static void store_new_org(dash_req_t *req, json_t *org, const char *given, const char *ok_msg)
{
    char *id = tk_xstrdup(given); /* @given may live in org's own "id", replaced below */
    json_object_set_new(org, "id", json_string(id));
    if (!json_is_array(json_object_get(org, "apis")))
        json_object_set_new(org, "apis", json_array());
    int rc = dash_store_insert(req->store, DASH_ORG, id, id, org);
    if (rc == DASH_STORE_CONFLICT)
        dash_reply_error(req, 409, "Organisation already exists");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "create organisation");
    else
        dash_reply_status(req, 200, "OK", ok_msg, json_string(id));
    free(id);
}

static void create_org(dash_req_t *req)
{
    json_t *org = dash_body_object(req);
    if (!org)
        return;
    const char *given = json_string_value(json_object_get(org, "id"));
    char id[25];
    dash_new_id(id);
    store_new_org(req, org, given && *given ? given : id, "Org created");
    json_decref(org);
}

static void import_org(dash_req_t *req)
{
    json_t *org = dash_body_object(req);
    if (!org)
        return;
    const char *given = json_string_value(json_object_get(org, "id"));
    if (!given || !*given)
        dash_reply_error(req, 400, "An imported organisation needs its \"id\"");
    else
        store_new_org(req, org, given, "Org created");
    json_decref(org);
}

static void get_org(dash_req_t *req)
{
    json_t *org = NULL;
    int rc = dash_store_get(req->store, DASH_ORG, NULL, dash_param(req, 0), &org);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Organisation not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "get organisation");
    else
        dash_reply_json(req, 200, org);
}

static void update_org(dash_req_t *req)
{
    json_t *org = dash_body_object(req);
    if (!org)
        return;
    const char *id = dash_param(req, 0);
    json_object_set_new(org, "id", json_string(id));
    int rc = dash_store_update(req->store, DASH_ORG, id, id, org);
    json_decref(org);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Organisation not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "update organisation");
    else
        dash_reply_status(req, 200, "OK", "Org updated", NULL);
}

static void delete_org(dash_req_t *req)
{
    int rc = dash_store_delete(req->store, DASH_ORG, NULL, dash_param(req, 0));
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Organisation not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "delete organisation");
    else
        dash_reply_status(req, 200, "OK", "Org deleted", NULL);
}

const dash_route_t dash_routes_admin_orgs[] = {
    {"GET", "/admin/organisations", DASH_AUTH_ADMIN, NULL, list_orgs},
    {"POST", "/admin/organisations", DASH_AUTH_ADMIN, NULL, create_org},
    {"POST", "/admin/organisations/import", DASH_AUTH_ADMIN, NULL, import_org},
    {"GET", "/admin/organisations/{id}", DASH_AUTH_ADMIN, NULL, get_org},
    {"PUT", "/admin/organisations/{id}", DASH_AUTH_ADMIN, NULL, update_org},
    {"DELETE", "/admin/organisations/{id}", DASH_AUTH_ADMIN, NULL, delete_org},
    {NULL, NULL, 0, NULL, NULL},
};
