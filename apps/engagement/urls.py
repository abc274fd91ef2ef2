from django.urls import path

from apps.engagement import views

app_name = "engagement"
urlpatterns = [
    path("p/<str:post_id>/", views.share_page, name="share-page"),
]
