from django.urls import URLPattern, URLResolver, path

from apps.media.api import captions, tus, uploads, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("media/uploads", uploads.UploadCreateApi.as_view(), name="media-uploads"),
    path("media/uploads/<int:asset_id>", uploads.UploadDetailApi.as_view(),
         name="media-upload"),
    path("media/uploads/<int:asset_id>/parts", uploads.S3UploadPartsApi.as_view(),
         name="media-s3-parts"),
    path("media/uploads/<int:asset_id>/complete", uploads.S3UploadCompleteApi.as_view(),
         name="media-s3-complete"),
    path("media/uploads/<str:token>", tus.TusUploadApi.as_view(), name="media-tus"),
    path("media/assets/<int:asset_id>", views.AssetDetailApi.as_view(), name="media-asset"),
    path("media/assets/<int:asset_id>/captions", captions.CaptionListApi.as_view(),
         name="media-captions"),
    path("media/assets/<int:asset_id>/captions/<str:language>",
         captions.CaptionDetailApi.as_view(), name="media-caption"),
    path("media/play/<int:asset_id>/<str:grant>/<path:name>", views.MediaPlayApi.as_view(),
         name="media-play"),
]
