from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("monetization", "0003_payouts_kyc_tax_fraud")]

    operations = [
        migrations.AddField(
            model_name="clawback",
            name="coins",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
