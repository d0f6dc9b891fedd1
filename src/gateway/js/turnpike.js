// SPDX-License-Identifier: Apache-2.0
// Turnpike's JSVM prelude: the TykJS namespace that Tyk middleware scripts are written against.
// The gateway calls <middleware name>.ProcessRequest(request, session, config) and reads the
// object it returns (ReturnData / ReturnAuthData); DoProcessRequest is the JSON-string form of
// the same call. Virtual endpoints return TykJsResponse(...) themselves.
(function (global) {
  'use strict';

  function Middleware(configuration) {
    this.configuration = configuration || {};
    this.ProcessRequest = null;
  }

  Middleware.prototype.NewProcessRequest = function (fn) {
    this.ProcessRequest = fn;
  };

  Middleware.prototype.NewProcessResponse = function (fn) {
    this.responseProcessor = fn;
  };

  Middleware.prototype.ReturnData = function (request, sessionMeta) {
    return { Request: request, SessionMeta: sessionMeta };
  };

  Middleware.prototype.ReturnAuthData = function (request, session) {
    return { Request: request, Session: session };
  };

  Middleware.prototype.ReturnResponseData = function (response, sessionMeta) {
    return { Response: response, SessionMeta: sessionMeta };
  };

  // The request body travels base64-encoded both ways so that any bytes survive JSON.
  Middleware.prototype.DoProcessRequest = function (request, session, config) {
    request.Body = b64dec(request.Body || '');
    if (typeof this.ProcessRequest !== 'function') {
      log('middleware has no NewProcessRequest callback');
      return JSON.stringify({ Request: request });
    }
    var out = this.ProcessRequest(request, session, config);
    if (!out || typeof out !== 'object') {
      log('middleware did not return ReturnData(...)');
      return undefined;
    }
    if (out.Request) {
      out.Request.Headers = {};
      out.Request.Body = b64enc(out.Request.Body === undefined ? '' : String(out.Request.Body));
    }
    return JSON.stringify(out);
  };

  function EventHandler() {
    this.handler = null;
  }
  EventHandler.prototype.NewHandler = function (fn) {
    this.handler = fn;
  };
  EventHandler.prototype.DoProcessEvent = function (event, context) {
    if (typeof this.handler === 'function') this.handler(event, context);
  };

  global.TykJS = {
    TykMiddleware: { NewMiddleware: Middleware },
    TykEventHandlers: { NewEventHandler: EventHandler },
  };

  global.TykJsResponse = function (response, sessionMeta) {
    return JSON.stringify({ Response: response, SessionMeta: sessionMeta });
  };
})(this);
