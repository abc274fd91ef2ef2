"""Notifications (product layer): other apps announce what happened through their hooks;
this app decides who is told, how (in-app, websocket, Web Push, FCM, APNs, e-mail) and when."""
