from django.urls import path

from apps.accounts.views import DataExportDownloadView

urlpatterns = [
    path("exports/<int:export_id>/download", DataExportDownloadView.as_view(),
         name="accounts-export-download"),
]
