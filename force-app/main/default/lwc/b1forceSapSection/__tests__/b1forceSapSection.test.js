import { createElement } from 'lwc';
import B1forceSapSection, { SECTIONS, INVOICES_RELATIONSHIP, ldsErrorMessage, invoiceRow } from 'c/b1forceSapSection';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';
import { getNavigateCalledWith, resetNavigation } from 'lightning/navigation';

const TODAY = '2026-12-07';

function field(v) {
    return { value: v, displayValue: v === null ? null : String(v) };
}

function invoice(id, overrides = {}) {
    const values = {
        Name: `INV-${id}`,
        SAP_DocNum__c: id,
        Is_Credit_Note__c: false,
        Invoice_Date__c: '2026-11-01',
        Due_Date__c: '2026-12-01',
        Amount__c: 100,
        Open_Amount__c: 0,
        Currency__c: 'EUR',
        Status__c: 'Paid',
        ...overrides
    };
    const fields = {};
    Object.keys(values).forEach((k) => {
        fields[k] = field(values[k]);
    });
    return { id: `a00${id}`, fields };
}

async function settle() {
    for (let i = 0; i < 3; i++) {
        await Promise.resolve();
    }
}

function mount(objectApiName, recordId = '001000000000001AAA') {
    const element = createElement('c-b1force-sap-section', { is: B1forceSapSection });
    element.objectApiName = objectApiName;
    element.recordId = recordId;
    document.body.appendChild(element);
    return element;
}

const one = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const all = (element, id) => element.shadowRoot.querySelectorAll(`[data-id="${id}"]`);

describe('c-b1force-sap-section', () => {
    beforeEach(() => {
        jest.spyOn(Date, 'now').mockReturnValue(Date.parse(`${TODAY}T12:00:00Z`));
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.restoreAllMocks();
        resetNavigation();
    });

    it.each(Object.keys(SECTIONS))('shows every SAP field of %s read-only, in order, with its title', async (objectApiName) => {
        const element = mount(objectApiName);
        await settle();
        const form = one(element, 'form');
        expect(form.recordId).toBe('001000000000001AAA');
        expect(form.objectApiName).toBe(objectApiName);
        const names = Array.from(all(element, 'field')).map((f) => f.fieldName);
        expect(names).toEqual(SECTIONS[objectApiName].fields);
        expect(element.shadowRoot.querySelector('lightning-input-field')).toBeNull();
        expect(element.shadowRoot.querySelector('lightning-card').title).toBe(SECTIONS[objectApiName].title);
    });

    it('spins until the form has loaded the record, then shows no spinner', async () => {
        const element = mount('Account');
        await settle();
        expect(one(element, 'spinner')).not.toBeNull();
        one(element, 'form').dispatchEvent(new CustomEvent('load', { detail: {} }));
        await settle();
        expect(one(element, 'spinner')).toBeNull();
        expect(one(element, 'error')).toBeNull();
    });

    it('says why when the record cannot be read', async () => {
        const element = mount('Opportunity');
        await settle();
        one(element, 'form').dispatchEvent(
            new CustomEvent('error', { detail: { message: 'Insufficient access', body: { message: 'You do not have access to this record.' } } })
        );
        await settle();
        expect(one(element, 'spinner')).toBeNull();
        expect(one(element, 'error').textContent).toBe('You do not have access to this record.');
    });

    it('lists an account\'s latest invoices, newest due date first, and marks the overdue ones', async () => {
        const element = mount('Account');
        await settle();
        expect(getRelatedListRecords.getLastConfig()).toEqual(
            expect.objectContaining({
                parentRecordId: '001000000000001AAA',
                relatedListId: INVOICES_RELATIONSHIP,
                sortBy: ['-SAP_Invoice__c.Due_Date__c'],
                pageSize: 10
            })
        );
        expect(one(element, 'invoices-spinner')).not.toBeNull();
        getRelatedListRecords.emit({
            records: [
                invoice(7, { Open_Amount__c: 40, Due_Date__c: '2026-12-06', Status__c: 'Partially paid' }),
                invoice(8, { Is_Credit_Note__c: true, Amount__c: -20, Open_Amount__c: 0 }),
                invoice(9, { Open_Amount__c: 100, Due_Date__c: '2026-12-31', Status__c: 'Open' })
            ],
            count: 3
        });
        await settle();
        expect(one(element, 'invoices-spinner')).toBeNull();
        const rows = all(element, 'invoice');
        expect(rows).toHaveLength(3);
        expect(rows[0].textContent).toContain('7');
        expect(rows[0].querySelector('[data-id="overdue"]')).not.toBeNull();
        expect(rows[1].textContent).toContain('Credit note');
        expect(rows[1].querySelector('[data-id="overdue"]')).toBeNull();
        expect(rows[2].querySelector('[data-id="overdue"]')).toBeNull();
    });

    it('says when there are no invoices, and shows an invoices error without hiding the fields', async () => {
        const element = mount('Opportunity', '006000000000001AAA');
        await settle();
        getRelatedListRecords.emit({ records: [], count: 0 });
        await settle();
        expect(one(element, 'no-invoices')).not.toBeNull();
        expect(one(element, 'invoices')).toBeNull();

        getRelatedListRecords.error({ message: 'The requested resource does not exist' });
        await settle();
        expect(one(element, 'invoices-error').textContent).toBe('The requested resource does not exist');
        expect(all(element, 'field')).toHaveLength(SECTIONS.Opportunity.fields.length);
    });

    it('asks for no invoices on cases and products', async () => {
        const element = mount('Case', '500000000000001AAA');
        await settle();
        expect(one(element, 'invoices-spinner')).toBeNull();
        expect(element.shadowRoot.textContent).not.toContain('SAP invoices');
    });

    it('opens the full related list from "View all"', async () => {
        const element = mount('Account');
        await settle();
        getRelatedListRecords.emit({ records: [invoice(1)], count: 1 });
        await settle();
        one(element, 'view-all').click();
        expect(getNavigateCalledWith().pageReference).toEqual({
            type: 'standard__recordRelationshipPage',
            attributes: {
                recordId: '001000000000001AAA',
                objectApiName: 'Account',
                relationshipApiName: INVOICES_RELATIONSHIP,
                actionName: 'view'
            }
        });
    });

    it('says so on an object B1Force writes nothing to', async () => {
        const element = mount('Lead', '00Q000000000001AAA');
        await settle();
        expect(one(element, 'unsupported')).not.toBeNull();
        expect(one(element, 'form')).toBeNull();
    });

    it('reduces Lightning Data Service errors to their messages', () => {
        expect(ldsErrorMessage({ body: [{ message: 'a' }, { message: 'b' }] })).toBe('a, b');
        expect(ldsErrorMessage({ detail: { message: 'd' } })).toBe('d');
        expect(ldsErrorMessage(undefined)).toBe('Unknown error');
    });

    it('is not overdue without money open or before the due date', () => {
        expect(invoiceRow(invoice(1, { Open_Amount__c: 5, Due_Date__c: TODAY }), TODAY).overdue).toBe(false);
        expect(invoiceRow(invoice(1, { Open_Amount__c: 5, Due_Date__c: '2026-12-06' }), TODAY).overdue).toBe(true);
        expect(invoiceRow(invoice(1, { Open_Amount__c: 0, Due_Date__c: '2026-01-01' }), TODAY).overdue).toBe(false);
        expect(invoiceRow(invoice(1, { Due_Date__c: null, Open_Amount__c: 5 }), TODAY).overdue).toBe(false);
    });
});
