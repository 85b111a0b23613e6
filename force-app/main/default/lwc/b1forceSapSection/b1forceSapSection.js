import { LightningElement, api, wire } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';

/**
 * The SAP fields B1Force writes, per object, in the order a person reads them. Every one is
 * checked against the object's field files and the B1Force_User permission set
 * (tests/tests/sfdx_metadata.rs).
 */
export const SECTIONS = {
    Account: {
        title: 'SAP customer',
        fields: [
            'SAP_CardCode__c',
            'SAP_Credit_Limit__c',
            'SAP_Balance__c',
            'SAP_Open_Orders_Balance__c',
            'SAP_Credit_Alert__c',
            'SAP_Payment_Status__c',
            'SAP_Days_Overdue__c',
            'SAP_Inactive__c',
            'SAP_Synced_At__c'
        ],
        invoices: true
    },
    Opportunity: {
        title: 'SAP order',
        fields: [
            'SAP_DocNum__c',
            'SAP_Sync_Status__c',
            'SAP_Sync_Error__c',
            'SAP_Fulfilment_Status__c',
            'SAP_Expected_Ship_Date__c',
            'SAP_Delivery_Date__c',
            'SAP_Payment_Status__c',
            'SAP_Days_Overdue__c',
            'SAP_Synced_At__c'
        ],
        invoices: true
    },
    Case: {
        title: 'SAP billing context',
        fields: [
            'SAP_Billing_Context__c',
            'SAP_Open_Invoices__c',
            'SAP_Overdue_Amount__c',
            'SAP_Last_Payment_Date__c',
            'SAP_Open_Orders__c',
            'SAP_Synced_At__c'
        ],
        invoices: false
    },
    Product2: {
        title: 'SAP item',
        fields: ['SAP_ItemCode__c', 'SAP_Stock__c', 'SAP_Synced_At__c'],
        invoices: false
    }
};

/** The child relationship of SAP_Invoice__c.Account__c and SAP_Invoice__c.Opportunity__c. */
export const INVOICES_RELATIONSHIP = 'SAP_Invoices__r';
export const INVOICES_SHOWN = 10;
const INVOICE_FIELDS = [
    'SAP_Invoice__c.Name',
    'SAP_Invoice__c.SAP_DocNum__c',
    'SAP_Invoice__c.Is_Credit_Note__c',
    'SAP_Invoice__c.Invoice_Date__c',
    'SAP_Invoice__c.Due_Date__c',
    'SAP_Invoice__c.Amount__c',
    'SAP_Invoice__c.Open_Amount__c',
    'SAP_Invoice__c.Currency__c',
    'SAP_Invoice__c.Status__c'
];

/** The message of a Lightning Data Service error, for people. */
export function ldsErrorMessage(error) {
    if (!error) {
        return 'Unknown error';
    }
    const body = error.body || error.detail;
    if (Array.isArray(body)) {
        return body.map((e) => e.message).join(', ');
    }
    if (body && typeof body.message === 'string') {
        return body.message;
    }
    return typeof error.message === 'string' ? error.message : String(error);
}

const value = (record, field) => (record.fields[field] ? record.fields[field].value : null);

/** One related-list record as a table row; overdue when money is open past its due date. */
export function invoiceRow(record, today) {
    const open = value(record, 'Open_Amount__c');
    const due = value(record, 'Due_Date__c');
    return {
        id: record.id,
        number: value(record, 'SAP_DocNum__c') ?? value(record, 'Name'),
        kind: value(record, 'Is_Credit_Note__c') ? 'Credit note' : 'Invoice',
        invoiceDate: value(record, 'Invoice_Date__c'),
        dueDate: due,
        amount: value(record, 'Amount__c'),
        openAmount: open,
        currencyCode: value(record, 'Currency__c') || undefined,
        status: value(record, 'Status__c'),
        overdue: Number(open) > 0 && Boolean(due) && due < today
    };
}

/**
 * A read-only section of SAP data on a record page: the object's SAP fields through
 * lightning-record-view-form (the user's field-level security decides what shows) and, on
 * accounts and opportunities, their latest SAP invoices with a link to the full related list.
 * States: loading, an error (the record or the invoices could not be read), the data.
 */
export default class B1forceSapSection extends NavigationMixin(LightningElement) {
    @api recordId;
    @api objectApiName;

    loading = true;
    error;
    invoiceRecords;
    invoicesError;

    @wire(getRelatedListRecords, {
        parentRecordId: '$invoicesParentId',
        relatedListId: INVOICES_RELATIONSHIP,
        fields: INVOICE_FIELDS,
        sortBy: ['-SAP_Invoice__c.Due_Date__c'],
        pageSize: INVOICES_SHOWN
    })
    wiredInvoices({ data, error }) {
        if (data) {
            this.invoiceRecords = data.records;
            this.invoicesError = undefined;
        } else if (error) {
            this.invoicesError = ldsErrorMessage(error);
        }
    }

    get section() {
        return SECTIONS[this.objectApiName];
    }

    get supported() {
        return Boolean(this.section);
    }

    get title() {
        return this.section ? this.section.title : 'SAP';
    }

    get fields() {
        return this.section ? this.section.fields : [];
    }

    /** Only accounts and opportunities ask for invoices (undefined keeps the wire idle). */
    get invoicesParentId() {
        return this.section && this.section.invoices ? this.recordId : undefined;
    }

    get showsInvoices() {
        return Boolean(this.invoicesParentId);
    }

    get invoicesLoading() {
        return this.showsInvoices && !this.invoiceRecords && !this.invoicesError;
    }

    get invoices() {
        const today = new Date(Date.now()).toISOString().slice(0, 10);
        return (this.invoiceRecords || []).map((record) => invoiceRow(record, today));
    }

    get hasInvoices() {
        return this.invoices.length > 0;
    }

    get noInvoices() {
        return Boolean(this.invoiceRecords) && this.invoiceRecords.length === 0;
    }

    handleLoad() {
        this.loading = false;
        this.error = undefined;
    }

    handleError(event) {
        this.loading = false;
        this.error = ldsErrorMessage(event.detail);
    }

    handleViewAll(event) {
        event.preventDefault();
        this[NavigationMixin.Navigate]({
            type: 'standard__recordRelationshipPage',
            attributes: {
                recordId: this.recordId,
                objectApiName: this.objectApiName,
                relationshipApiName: INVOICES_RELATIONSHIP,
                actionName: 'view'
            }
        });
    }
}
